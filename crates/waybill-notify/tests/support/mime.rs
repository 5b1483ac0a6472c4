//! Just enough of a MIME reader to check what the mailer sent: unfolded headers, RFC 2047
//! encoded words (B and Q), multipart bodies, quoted-printable and base64 parts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A message or one of its parts.
#[derive(Debug, Clone)]
pub struct Part {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Part {
    pub fn parse(raw: &[u8]) -> Part {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a blank line after the headers");
        let head = std::str::from_utf8(&raw[..split]).expect("headers are ASCII");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                headers.last_mut().expect("a folded line follows a header").1.push_str(line);
            } else {
                let (name, value) = line.split_once(':').expect("a header line");
                headers.push((name.to_owned(), value.trim_start().to_owned()));
            }
        }
        assert!(head.is_ascii(), "headers must be 7-bit: {head}");
        Part { headers, body: raw[split + 4..].to_vec() }
    }

    /// Every value of a header, as sent (unfolded).
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The one value of a header, as sent (unfolded).
    pub fn header(&self, name: &str) -> &str {
        match self.headers(name).as_slice() {
            [value] => value,
            other => panic!("expected one `{name}` header, found {other:?}"),
        }
    }

    /// A header with its encoded words decoded.
    pub fn decoded_header(&self, name: &str) -> String {
        decode_words(self.header(name))
    }

    /// A parameter of a header, such as `boundary` or `charset`.
    pub fn param(&self, name: &str, param: &str) -> Option<String> {
        self.header(name).split(';').skip(1).find_map(|p| {
            let (key, value) = p.trim().split_once('=')?;
            key.eq_ignore_ascii_case(param).then(|| value.trim_matches('"').to_owned())
        })
    }

    /// The content type without its parameters, lower-cased.
    pub fn content_type(&self) -> String {
        self.header("Content-Type").split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
    }

    /// The parts of a multipart body.
    pub fn parts(&self) -> Vec<Part> {
        let boundary = format!("--{}", self.param("Content-Type", "boundary").expect("a multipart boundary"));
        let body = std::str::from_utf8(&self.body).expect("a 7-bit multipart body");
        let end = body.find(&format!("{boundary}--")).expect("the closing boundary");
        body[..end]
            .split(&boundary)
            .skip(1)
            .map(|part| Part::parse(part.trim_start_matches("\r\n").trim_end_matches("\r\n").as_bytes()))
            .collect()
    }

    pub fn transfer_encoding(&self) -> String {
        self.headers("Content-Transfer-Encoding").first().map_or("7bit".into(), |v| v.to_ascii_lowercase())
    }

    /// The body, transfer-decoded, as UTF-8.
    pub fn text(&self) -> String {
        let bytes = match self.transfer_encoding().as_str() {
            "base64" => {
                let compact: String = String::from_utf8_lossy(&self.body).split_whitespace().collect();
                STANDARD.decode(compact).expect("valid base64")
            }
            "quoted-printable" => quoted_printable(&self.body, false),
            _ => self.body.clone(),
        };
        String::from_utf8(bytes).expect("a UTF-8 body")
    }
}

fn quoted_printable(input: &[u8], underscore_is_space: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'=' if input[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' => {
                let hex = std::str::from_utf8(&input[i + 1..i + 3]).expect("an ASCII escape");
                out.push(u8::from_str_radix(hex, 16).expect("a hex escape"));
                i += 3;
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Decodes RFC 2047 encoded words; the space between two adjacent encoded words is dropped.
pub fn decode_words(value: &str) -> String {
    let mut out = Vec::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.extend_from_slice(between.as_bytes());
        }
        let word = &rest[start + 2..];
        let mut fields = word.splitn(3, '?');
        let (Some(_charset), Some(encoding), Some(tail)) = (fields.next(), fields.next(), fields.next()) else {
            panic!("a broken encoded word in {value:?}");
        };
        let end = tail.find("?=").expect("an encoded word's end");
        let text = &tail[..end];
        match encoding {
            "b" | "B" => out.extend(STANDARD.decode(text).expect("base64 encoded word")),
            "q" | "Q" => out.extend(quoted_printable(text.as_bytes(), true)),
            other => panic!("unknown encoding {other}"),
        }
        rest = &tail[end + 2..];
        after_word = true;
    }
    out.extend_from_slice(rest.as_bytes());
    String::from_utf8(out).expect("UTF-8 encoded words")
}
