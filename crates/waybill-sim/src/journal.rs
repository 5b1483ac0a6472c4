//! The state file: a JSON-lines journal of state changes, replayed on start.
//!
//! Each record is appended through a buffered writer that is flushed after
//! every record, so it reaches the operating system at once. There is no
//! `fsync`: a crash of the process loses nothing, a power cut may lose the
//! last records — durable enough for a demo or a test bed, not for a carrier.
//! A torn last line (the process died mid-write) is skipped on replay.
//!
//! Webhook progress is journaled per event once it is delivered (or given
//! up on), so after a restart only an event that was in flight is sent
//! again. The journal holds webhook secrets in clear text.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Manifest, NdrInstruction, Pickup, Shipment, ShipmentUpdate, Subscription};

/// One state change.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Record {
    ShipmentCreated {
        api_key: String,
        shipment: Box<Shipment>,
    },
    ShipmentCancelled {
        api_key: String,
        awb: String,
        at: DateTime<Utc>,
    },
    /// The shipper's instruction after a failed delivery.
    NdrInstructed {
        api_key: String,
        awb: String,
        instruction: NdrInstruction,
    },
    /// A new subscription, or a new secret for an existing one (same id).
    SubscriptionSet {
        subscription: Subscription,
    },
    /// A webhook event was delivered (or given up on): the subscription goes
    /// on with the scan at `next_index` of the timeline, so a restart does not
    /// send everything again.
    PushDone {
        subscription_id: String,
        next_index: usize,
    },
    /// A courier pickup was booked.
    PickupScheduled {
        api_key: String,
        pickup: Box<Pickup>,
    },
    /// A courier pickup was called off.
    PickupCancelled {
        api_key: String,
        confirmation_number: String,
        at: DateTime<Utc>,
    },
    /// The shipper asked for a moving parcel back.
    RtoRequested {
        api_key: String,
        awb: String,
        at: DateTime<Utc>,
    },
    /// The shipper changed the recipient's details or the cash to collect.
    ShipmentUpdated {
        api_key: String,
        awb: String,
        update: ShipmentUpdate,
    },
    /// The shipper closed a day's parcels.
    ManifestClosed {
        api_key: String,
        manifest: Manifest,
    },
}

/// The open journal.
pub(crate) struct Journal {
    out: BufWriter<File>,
}

impl Journal {
    /// Opens `path` for appending, creating it if needed.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(path)?;
        // After a torn write, start on a fresh line so the next record is
        // not glued to the broken one.
        if file.metadata()?.len() > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Self { out: BufWriter::new(file) })
    }

    /// Appends one record and flushes it.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// The records of `path`, oldest first; none if the file does not exist.
pub(crate) fn replay(path: &Path) -> io::Result<Vec<Record>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(record) => records.push(record),
            Err(why) => tracing::warn!(
                path = %path.display(),
                line = number + 1,
                %why,
                "skipping unreadable journal line"
            ),
        }
    }
    Ok(records)
}
