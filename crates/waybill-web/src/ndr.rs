//! The page behind the link of a failed-delivery message (`/n/…`): the customer chooses what
//! happens to the parcel (deliver it again, on another day, to a corrected address, or send it
//! back), or says the attempt never happened.
//!
//! An [`NdrSource`] reads the case and records the choice; the page only reads the form, so a
//! choice is checked once, where the case is.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, NaiveDate};
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use minijinja::context;
use waybill_core::ndr::{NdrAction, NdrActionKind, NdrState};
use waybill_core::{FieldError, Language, NdrReason};

use crate::link::{Visit, admit};
use crate::tracking::{
    self, Brand, format_date, format_date_time, local_path, ndr_key, text, text_with, web_url, with_lang,
};
use crate::{Client, Limit, Pairs, page_headers, param};

/// Where the NDR page data comes from, and where the customer's choice goes (the server
/// implements it over the engine).
pub trait NdrSource: Clone + Send + Sync + 'static {
    /// The case behind a link token as its customer sees it.
    fn find(&self, token: &str) -> impl Future<Output = NdrLookup> + Send;
    /// Asks for what the customer chose; the page after it (or the refusal).
    fn act(&self, token: &str, request: CustomerRequest) -> impl Future<Output = NdrLookup> + Send;
}

/// What the customer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRequest {
    Action(NdrAction),
    /// The attempt never happened, in the customer's words.
    Dispute {
        statement: String,
    },
}

/// The answer of an [`NdrSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdrLookup {
    Found(NdrPage),
    /// Refused: the page again with one message per field, pointers as the API gives them
    /// (`/action`, `/date`, `/street1`, `/street2`, `/phone`, `/landmark`, `/statement`).
    /// The page words each message by its pointer in the visitor's language; `detail` is the
    /// API's English and is not shown.
    Refused {
        page: NdrPage,
        errors: Vec<FieldError>,
    },
    /// Not a link this deployment made (or its shipment has no case): 404 page.
    Unknown,
    /// Cannot be read or recorded now: 503 with Retry-After 60.
    Unavailable,
}

/// Everything the NDR page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdrPage {
    /// Set by the router: the visitor's language, else the store's.
    pub lang: Language,
    /// Set by the router: where the page's forms post to.
    pub form_action: String,
    pub brand: Brand,
    pub tracking_number: String,
    /// The tracking page of the shipment: a path on this server or an `http(s)` URL.
    pub tracking_url: String,
    pub state: NdrState,
    /// The latest failed attempt's reason.
    pub reason: NdrReason,
    /// The latest failed attempt's number, 1 for the first.
    pub attempt: u32,
    /// What the customer may choose now: empty once something was chosen, or closed.
    pub allowed: Vec<NdrActionKind>,
    /// What was asked for the latest attempt, by anyone.
    pub requested: Option<NdrActionKind>,
    /// Until when the customer can choose; shown in its own offset.
    pub deadline: Option<DateTime<FixedOffset>>,
    /// The first day a delivery can be rescheduled to.
    pub earliest_date: NaiveDate,
    /// The last day a delivery can be rescheduled to.
    pub latest_date: NaiveDate,
    /// The customer already said the attempt never happened.
    pub disputed: bool,
}

/// Routes `GET /n/{token}` (the page) and `POST /n/{token}` (one of its forms). Each client may
/// ask `limit` often. Mount it at the root.
pub fn ndr_router<N: NdrSource>(source: N, limit: Limit) -> Router {
    let shared = Arc::new(NdrShared { source, asks: RateLimiter::keyed(limit.quota()) });
    Router::new()
        .route("/n/{token}", get(page_get::<N>).post(page_post::<N>))
        // Room for the longest form: a 500-character statement, or four 200-character address
        // fields, in Hangul percent-encoded (up to 9 bytes a character).
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(axum::middleware::map_response(page_headers))
        .with_state(shared)
}

struct NdrShared<N> {
    source: N,
    asks: DefaultKeyedRateLimiter<IpAddr>,
}

async fn page_get<N: NdrSource>(
    State(shared): State<Arc<NdrShared<N>>>,
    Client(ip): Client,
    uri: OriginalUri,
    headers: HeaderMap,
    token: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (visit, token) = match admit(&shared.asks, ip, &uri, &headers, token, query) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    respond(&visit, shared.source.find(&token).await, Vec::new(), None)
}

async fn page_post<N: NdrSource>(
    State(shared): State<Arc<NdrShared<N>>>,
    Client(ip): Client,
    uri: OriginalUri,
    headers: HeaderMap,
    token: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (visit, token) = match admit(&shared.asks, ip, &uri, &headers, token, query) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let answer = match form {
        Ok(Form(form)) => Answer::read(&form),
        Err(rejection) => {
            return (rejection.status(), Html(tracking::render_bad_form(visit.lang()))).into_response();
        }
    };
    match answer.request() {
        Ok(request) => respond(&visit, shared.source.act(&token, request).await, Vec::new(), Some(&answer)),
        // The source never hears of a form that asks for nothing it could do.
        Err(problem) => respond(&visit, shared.source.find(&token).await, vec![problem], Some(&answer)),
    }
}

/// The response for `lookup`, with `problems` found before asking the source; `answer` is the
/// form that was sent, refilled when something in it was refused.
fn respond(visit: &Visit, lookup: NdrLookup, mut problems: Vec<Problem>, answer: Option<&Answer>) -> Response {
    let mut page = match lookup {
        NdrLookup::Found(page) => page,
        NdrLookup::Refused { page, errors } => {
            problems.extend(errors.iter().map(Problem::of));
            // A refusal always says so, even without a message of its own.
            if problems.is_empty() {
                problems.push(Problem::OTHER);
            }
            page
        }
        NdrLookup::Unknown => return visit.unknown(),
        NdrLookup::Unavailable => return visit.unavailable(),
    };
    (page.lang, page.form_action) = visit.settle(page.brand.default_language);
    if problems.is_empty() {
        Html(render_ndr(&page, &[], None)).into_response()
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, Html(render_ndr(&page, &problems, answer))).into_response()
    }
}

/// One form as sent; blank fields are absent.
#[derive(Debug, Default)]
struct Answer {
    action: Option<String>,
    date: Option<String>,
    street1: Option<String>,
    street2: Option<String>,
    phone: Option<String>,
    landmark: Option<String>,
    statement: Option<String>,
}

impl Answer {
    fn read(form: &[(String, String)]) -> Self {
        let field = |name| param(form, name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Answer {
            action: field("action"),
            date: field("date"),
            street1: field("street1"),
            street2: field("street2"),
            phone: field("phone"),
            landmark: field("landmark"),
            statement: field("statement"),
        }
    }

    /// What the form asks of the source, or why it asks for nothing it could do.
    fn request(&self) -> Result<CustomerRequest, Problem> {
        let kind = match self.action.as_deref() {
            Some("dispute") => {
                let statement = self.statement.clone().ok_or(Problem::STATEMENT)?;
                return Ok(CustomerRequest::Dispute { statement });
            }
            action => action.and_then(NdrActionKind::parse).ok_or(Problem::ACTION)?,
        };
        let action = match kind {
            NdrActionKind::Reattempt => NdrAction::Reattempt {},
            NdrActionKind::Reschedule => {
                NdrAction::Reschedule { date: self.date.as_deref().and_then(parse_day).ok_or(Problem::DATE)? }
            }
            NdrActionKind::UpdateAndReattempt => {
                let fields = [&self.street1, &self.street2, &self.phone, &self.landmark];
                if fields.iter().all(|f| f.is_none()) {
                    return Err(Problem::NOTHING_TO_UPDATE);
                }
                NdrAction::UpdateAndReattempt {
                    street1: self.street1.clone(),
                    street2: self.street2.clone(),
                    phone: self.phone.clone(),
                    landmark: self.landmark.clone(),
                }
            }
            NdrActionKind::Rto => NdrAction::Rto {},
        };
        Ok(CustomerRequest::Action(action))
    }

    /// The values to put back into the page's inputs.
    fn typed(&self) -> BTreeMap<&'static str, String> {
        [
            ("date", &self.date),
            ("street1", &self.street1),
            ("street2", &self.street2),
            ("phone", &self.phone),
            ("landmark", &self.landmark),
            ("statement", &self.statement),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }
}

/// `YYYY-MM-DD` exactly, as a date input sends it.
fn parse_day(s: &str) -> Option<NaiveDate> {
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    shape.then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).flatten()
}

/// One message of a refused form: the field it sits next to, and its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Problem {
    /// `action` for the choice as a whole; empty for a pointer the page has no field for.
    field: &'static str,
    key: &'static str,
}

impl Problem {
    const ACTION: Problem = Problem { field: "action", key: "ndr-error-action" };
    const NOTHING_TO_UPDATE: Problem = Problem { field: "action", key: "ndr-error-nothing-to-update" };
    const DATE: Problem = Problem { field: "date", key: "ndr-error-date" };
    const STATEMENT: Problem = Problem { field: "statement", key: "ndr-error-statement" };
    const OTHER: Problem = Problem { field: "", key: "ndr-error-other" };

    fn of(error: &FieldError) -> Problem {
        match error.pointer.as_str() {
            "/action" => Problem::ACTION,
            "/date" => Problem::DATE,
            "/street1" => Problem { field: "street1", key: "ndr-error-field" },
            "/street2" => Problem { field: "street2", key: "ndr-error-field" },
            "/phone" => Problem { field: "phone", key: "ndr-error-field" },
            "/landmark" => Problem { field: "landmark", key: "ndr-error-field" },
            "/statement" => Problem::STATEMENT,
            _ => Problem::OTHER,
        }
    }

    /// The form its field is in: for the choice as a whole, the one it was sent from.
    fn form(self, chosen: Option<&str>) -> Option<&str> {
        match self.field {
            "action" => chosen,
            "date" => Some("reschedule"),
            "street1" | "street2" | "phone" | "landmark" => Some("update_and_reattempt"),
            "statement" => Some("dispute"),
            _ => None,
        }
    }
}

/// The NDR page: the case, the forms of what the customer may choose, and `problems` next to
/// their fields with the `answer` typed refilled.
fn render_ndr(page: &NdrPage, problems: &[Problem], answer: Option<&Answer>) -> String {
    let lang = page.lang;
    let open = !page.state.is_closed();
    let choices: Vec<&str> = page.allowed.iter().filter(|_| open).map(|k| k.as_str()).collect();
    let dispute = open && !page.disputed;
    let (heading, body, tone) = match page.state {
        NdrState::Delivered => (text(lang, "status-delivered"), text(lang, "ndr-delivered"), "delivered"),
        NdrState::ReturnedToOrigin => {
            (text(lang, "status-return_to_origin"), text(lang, "notice-return_to_origin"), "")
        }
        NdrState::AwaitingAction | NdrState::ActionRequested => (
            text_with(lang, "ndr-attempt-failed", &[("attempt", page.attempt.to_string())]),
            text_with(lang, "ndr-reason", &[("reason", text(lang, &ndr_key(page.reason)))]),
            "problem",
        ),
    };
    let requested = page.requested.filter(|_| open).map(|k| text(lang, &format!("ndr-requested-{}", k.as_str())));
    let deadline = page
        .deadline
        .filter(|_| !choices.is_empty())
        .map(|d| text_with(lang, "ndr-deadline", &[("deadline", format_date_time(lang, &d))]));
    let range = [("earliest", format_date(lang, page.earliest_date)), ("latest", format_date(lang, page.latest_date))];
    let chosen = answer.and_then(|a| a.action.as_deref());
    let shown = |form: &str| choices.contains(&form) || (form == "dispute" && dispute);
    let mut errors = BTreeMap::new();
    let mut summary = Vec::new();
    for problem in problems {
        let message = text_with(lang, problem.key, &range);
        let anchor = problem.form(chosen).filter(|f| shown(f)).map(|form| match problem.field {
            "action" => format!("choice-{form}"),
            field => field.to_owned(),
        });
        if !problem.field.is_empty() {
            errors.entry(problem.field).or_insert_with(|| message.clone());
        }
        summary.push(context! { message => message, anchor => anchor });
    }
    let tracking_url = local_path(&page.tracking_url).or_else(|| web_url(&page.tracking_url));
    let page_ctx = context! {
        heading => heading,
        body => body,
        tone => tone,
        requested => requested,
        disputed => open && page.disputed,
        nothing_to_choose => open && choices.is_empty() && page.requested.is_none(),
        deadline => deadline,
        tracking_number => &page.tracking_number,
        tracking_url => tracking_url.map(|u| with_lang(u, lang)),
        choices => choices,
        dispute => dispute,
        form_action => &page.form_action,
        earliest => page.earliest_date.to_string(),
        latest => page.latest_date.to_string(),
        summary => summary,
        errors => errors,
        chosen => chosen.map(str::to_owned),
        typed => answer.map(Answer::typed).unwrap_or_default(),
    };
    tracking::render("ndr.html", lang, Some(&page.brand), page_ctx)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, header};
    use chrono::TimeZone;

    use super::*;
    use crate::tests::{assert_page_headers, brand, from_ip, get, post, send};

    /// `GOOD…` tokens name the one case in `page`, `DOWN…` cannot be read now, others are unknown.
    #[derive(Clone)]
    struct FakeCases {
        page: Arc<Mutex<NdrPage>>,
        /// What `act` refuses with instead of recording, when not empty.
        refusal: Vec<FieldError>,
        finds: Arc<Mutex<usize>>,
        acts: Arc<Mutex<Vec<CustomerRequest>>>,
    }

    impl FakeCases {
        fn new(page: NdrPage) -> Self {
            FakeCases { page: Arc::new(Mutex::new(page)), refusal: vec![], finds: Arc::default(), acts: Arc::default() }
        }

        fn lookup(&self, token: &str) -> NdrLookup {
            if token.starts_with("GOOD") {
                NdrLookup::Found(self.page.lock().unwrap().clone())
            } else if token.starts_with("DOWN") {
                NdrLookup::Unavailable
            } else {
                NdrLookup::Unknown
            }
        }

        fn acts(&self) -> Vec<CustomerRequest> {
            self.acts.lock().unwrap().clone()
        }
    }

    impl NdrSource for FakeCases {
        fn find(&self, token: &str) -> impl Future<Output = NdrLookup> + Send {
            *self.finds.lock().unwrap() += 1;
            let answer = self.lookup(token);
            async move { answer }
        }

        fn act(&self, token: &str, request: CustomerRequest) -> impl Future<Output = NdrLookup> + Send {
            self.acts.lock().unwrap().push(request.clone());
            let answer = match self.lookup(token) {
                NdrLookup::Found(page) if !self.refusal.is_empty() => {
                    NdrLookup::Refused { page, errors: self.refusal.clone() }
                }
                NdrLookup::Found(_) => {
                    let mut page = self.page.lock().unwrap();
                    match request {
                        CustomerRequest::Action(action) => {
                            page.state = NdrState::ActionRequested;
                            page.requested = Some(action.kind());
                            page.allowed.clear();
                            page.deadline = None;
                        }
                        CustomerRequest::Dispute { .. } => page.disputed = true,
                    }
                    NdrLookup::Found(page.clone())
                }
                other => other,
            };
            async move { answer }
        }
    }

    /// The second failed attempt of acme's `WB123`, awaiting a choice among `allowed`.
    fn case(allowed: &[NdrActionKind]) -> NdrPage {
        NdrPage {
            lang: Language::En,
            form_action: String::new(),
            brand: brand("acme"),
            tracking_number: "WB123".into(),
            tracking_url: "/t/acme/WB123".into(),
            state: NdrState::AwaitingAction,
            reason: NdrReason::CustomerUnavailable,
            attempt: 2,
            allowed: allowed.to_vec(),
            requested: None,
            deadline: Some(FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2026, 12, 7, 18, 30, 0).unwrap()),
            earliest_date: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
            latest_date: NaiveDate::from_ymd_opt(2026, 12, 14).unwrap(),
            disputed: false,
        }
    }

    fn link(kind: &str) -> String {
        format!("/n/{kind}{}", "x".repeat(40))
    }

    fn app(source: FakeCases) -> Router {
        ndr_router(source, crate::RateLimits::default().lookups)
    }

    /// Text as the auto-escaping templates write it.
    fn escaped(text: &str) -> String {
        minijinja::HtmlEscape(text).to_string()
    }

    #[tokio::test]
    async fn each_allowed_action_has_its_form_and_no_other() {
        use NdrActionKind::*;
        let fake = FakeCases::new(case(&[Reattempt, Rto]));
        let (status, headers, body) = send(&app(fake.clone()), get(&link("GOOD"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        assert!(body.contains("Delivery attempt 2 failed"));
        assert!(body.contains("Reason: Nobody was available to receive the parcel"));
        assert!(body.contains("Please choose by Dec 7, 2026, 6:30 PM."), "{body}");
        assert!(body.contains(r#"<a href="&#x2f;t&#x2f;acme&#x2f;WB123?lang=en">Track your parcel</a>"#));
        let form = format!(r#"<form method="post" action="{}""#, escaped(&format!("{}?lang=en", link("GOOD"))));
        assert_eq!(body.matches(&form).count(), 3, "reattempt, rto and the dispute: {body}");
        for shown in [
            r#"<input type="hidden" name="action" value="reattempt">"#,
            r#"<input type="hidden" name="action" value="rto">"#,
            r#"<input type="hidden" name="action" value="dispute">"#,
            "Deliver it again</button>",
            "I no longer want this parcel: return it to the sender</button>",
            "I was at the address; nobody came",
            r#"<textarea id="statement" name="statement" rows="3" maxlength="500" required>"#,
        ] {
            assert!(body.contains(shown), "{shown} missing");
        }
        for hidden in ["value=\"reschedule\"", "name=\"date\"", "value=\"update_and_reattempt\"", "name=\"street1\""] {
            assert!(!body.contains(hidden), "{hidden} shown");
        }
        assert_eq!(*fake.finds.lock().unwrap(), 1);

        let fake = FakeCases::new(case(&[Reschedule, UpdateAndReattempt]));
        let (_, _, body) = send(&app(fake), get(&link("GOOD"))).await;
        assert!(body.contains(
            r#"<input id="date" name="date" type="date" min="2026-12-08" max="2026-12-14" required value="">"#
        ));
        for (name, label, kind) in [
            ("street1", "Street address", "text"),
            ("street2", "Apartment, floor, building", "text"),
            ("phone", "Phone number", "tel"),
            ("landmark", "Directions for the courier", "text"),
        ] {
            assert!(body.contains(&format!(r#"<label for="{name}">{label}</label>"#)), "{name}");
            assert!(body.contains(&format!(r#"<input id="{name}" name="{name}" type="{kind}" maxlength="200""#)));
        }
        assert!(!body.contains("value=\"reattempt\"") && !body.contains("value=\"rto\""));
    }

    #[tokio::test]
    async fn a_closed_case_offers_no_choice() {
        for (state, words) in [
            (NdrState::Delivered, "Your parcel has been delivered."),
            (NdrState::ReturnedToOrigin, "Your parcel is on its way back to the store."),
        ] {
            let closed = NdrPage { state, allowed: vec![], requested: Some(NdrActionKind::Rto), ..case(&[]) };
            let (status, _, body) = send(&app(FakeCases::new(closed)), get(&link("GOOD"))).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains(words), "{body}");
            assert!(!body.contains("<form") && !body.contains("Please choose by") && !body.contains("We have asked"));
        }
    }

    #[tokio::test]
    async fn a_bad_date_is_answered_next_to_its_field_without_acting() {
        let fake = FakeCases::new(case(&[NdrActionKind::Reschedule]));
        let app = app(fake.clone());
        for date in ["2026-13-40", "8/12/2026", "2026-12-8", ""] {
            let (status, headers, body) =
                send(&app, post(&link("GOOD"), &format!("action=reschedule&date={date}"))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{date}");
            assert_page_headers(&headers);
            assert!(body.contains("Your choice was not recorded"));
            assert!(body.contains(&format!(
                r#"required value="{}" aria-describedby="date-error" aria-invalid="true">"#,
                escaped(date)
            )));
            let message = "This day is not possible. Please choose a day from Dec 8, 2026 to Dec 14, 2026.";
            assert!(body.contains(&format!(r#"<p id="date-error" class="error">{message}</p>"#)), "{body}");
            assert!(body.contains(&format!(r##"<li><a href="#date">{message}</a></li>"##)));
        }
        assert!(fake.acts().is_empty());
        assert_eq!(*fake.finds.lock().unwrap(), 4);
    }

    #[tokio::test]
    async fn a_form_that_asks_for_nothing_possible_is_answered_without_acting() {
        use NdrActionKind::*;
        let fake = FakeCases::new(case(&[Reattempt, UpdateAndReattempt, Rto]));
        let app = app(fake.clone());
        let answers = [
            ("", "This choice is no longer possible for your parcel."),
            ("action=teleport", "This choice is no longer possible for your parcel."),
            ("action=dispute&statement=+++", "Please tell us briefly what happened, in 500 characters at most."),
            ("action=update_and_reattempt&street1=+&phone=", "Please fill in at least one field."),
        ];
        for (form, message) in answers {
            let (status, _, body) = send(&app, post(&link("GOOD"), form)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
            assert!(body.contains(message), "{form}: {body}");
        }
        let (_, _, body) = send(&app, post(&link("GOOD"), "action=dispute")).await;
        assert!(body.contains(r#"<p id="statement-error" class="error">Please tell us briefly"#));
        let (_, _, body) = send(&app, post(&link("GOOD"), "action=update_and_reattempt")).await;
        let update = body.find(r#"id="choice-update_and_reattempt""#).unwrap();
        let error = body.find(r#"<p class="error">Please fill in at least one field.</p>"#).unwrap();
        assert!(update < error && error < body.find("Save and deliver again</button>").unwrap());
        assert!(body.contains(r##"<a href="#choice-update_and_reattempt">"##));
        assert!(fake.acts().is_empty());
    }

    #[tokio::test]
    async fn a_reattempt_is_asked_for_and_confirmed() {
        let fake = FakeCases::new(case(&[NdrActionKind::Reattempt, NdrActionKind::Rto]));
        let (status, headers, body) = send(&app(fake.clone()), post(&link("GOOD"), "action=reattempt")).await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        assert_eq!(fake.acts(), [CustomerRequest::Action(NdrAction::Reattempt {})]);
        let confirmation = "We have asked the carrier to deliver your parcel again, usually on the next working day.";
        assert!(body.contains(&format!(r#"<p class="confirm">{confirmation}</p>"#)));
        assert!(
            !body.contains("value=\"reattempt\"")
                && !body.contains("value=\"rto\"")
                && !body.contains("Please choose by")
        );
        assert!(body.contains("value=\"dispute\""), "the customer may still say nobody came");
        assert_eq!(*fake.finds.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn a_correction_sends_only_what_was_filled_in() {
        let fake = FakeCases::new(case(&[NdrActionKind::UpdateAndReattempt]));
        let form = "action=update_and_reattempt&street1=+12+Rue+Neuve+&street2=&phone=+&landmark=Blue+door&date=x";
        let (status, _, body) = send(&app(fake.clone()), post(&link("GOOD"), form)).await;
        assert_eq!(status, StatusCode::OK);
        let expected = NdrAction::UpdateAndReattempt {
            street1: Some("12 Rue Neuve".into()),
            street2: None,
            phone: None,
            landmark: Some("Blue door".into()),
        };
        assert_eq!(fake.acts(), [CustomerRequest::Action(expected)]);
        assert!(body.contains("We have asked the carrier to try again with the corrected details."));
    }

    #[tokio::test]
    async fn a_dispute_is_recorded_and_not_offered_again() {
        let fake = FakeCases::new(case(&[NdrActionKind::Reattempt]));
        let form = "action=dispute&statement=+I+was+home+all+day+";
        let (status, _, body) = send(&app(fake.clone()), post(&link("GOOD"), form)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fake.acts(), [CustomerRequest::Dispute { statement: "I was home all day".into() }]);
        assert!(body.contains("You told us that nobody came. The store will raise it with the carrier."));
        assert!(!body.contains("value=\"dispute\"") && body.contains("value=\"reattempt\""));
    }

    #[tokio::test]
    async fn refusals_land_next_to_their_fields_with_the_typed_values_kept() {
        let mut fake = FakeCases::new(case(&[NdrActionKind::UpdateAndReattempt, NdrActionKind::Rto]));
        fake.refusal = vec![
            FieldError::new("/street1", "is longer than 200 characters"),
            FieldError::new("/phone", "is not a phone number"),
        ];
        let form = "action=update_and_reattempt&street1=%3Cscript%3Ealert(1)%3C%2Fscript%3E\
                    &phone=0612&landmark=%22blue%22+door";
        let (status, headers, body) = send(&app(fake.clone()), post(&link("GOOD"), form)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_page_headers(&headers);
        assert_eq!(fake.acts().len(), 1);
        assert!(!body.contains("<script") && !body.contains("is longer than"), "{body}");
        let typed = r#"value="&lt;script&gt;alert(1)&lt;&#x2f;script&gt;""#;
        assert!(body.contains(&format!(r#"{typed} aria-describedby="street1-error" aria-invalid="true">"#)));
        assert!(body.contains(r#"value="0612" aria-describedby="phone-error" aria-invalid="true">"#));
        assert!(body.contains(r#"value="&quot;blue&quot; door">"#));
        let message = "Please check this entry: 200 characters at most.";
        for field in ["street1", "phone"] {
            let input = body.find(&format!(r#"<input id="{field}""#)).unwrap();
            let error = body.find(&format!(r#"<p id="{field}-error" class="error">{message}</p>"#)).unwrap();
            assert!(input < error && !body[input..error].contains("<label"), "{field}");
            assert!(body.contains(&format!(r##"<a href="#{field}">{message}</a>"##)));
        }
        assert!(!body.contains("street2-error") && !body.contains("landmark-error"));
    }

    #[tokio::test]
    async fn an_invalid_token_is_unknown_without_asking() {
        let fake = FakeCases::new(case(&[NdrActionKind::Rto]));
        let app = app(fake.clone());
        for path in
            ["/n/short", "/n/GOOD%3Cscript%3E0123456789012345678901234567890", &format!("/n/{}", "A".repeat(1025))]
        {
            for request in [get(path), post(path, "action=rto")] {
                let (status, headers, body) = send(&app, request).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
                assert_page_headers(&headers);
                assert!(body.contains("This link does not work"));
            }
        }
        assert_eq!(*fake.finds.lock().unwrap(), 0);
        assert!(fake.acts().is_empty());

        let (status, _, body) = send(&app, get(&link("NOPE"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("This link does not work"));
        for request in [get(&link("DOWN")), post(&link("DOWN"), "action=rto"), post(&link("DOWN"), "action=")] {
            let (status, headers, body) = send(&app, request).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(headers[header::RETRY_AFTER], "60");
            assert!(body.contains("We cannot show or record your choice just now."));
        }
    }

    #[tokio::test]
    async fn too_many_asks_from_one_client_are_refused() {
        let fake = FakeCases::new(case(&[NdrActionKind::Rto]));
        let app = ndr_router(fake.clone(), Limit { burst: 2, replenish_every: Duration::from_secs(3600) });
        assert_eq!(send(&app, from_ip(get(&link("GOOD")), 1)).await.0, StatusCode::OK);
        assert_eq!(send(&app, from_ip(get("/n/short"), 1)).await.0, StatusCode::NOT_FOUND);
        for request in [get(&format!("{}?lang=ko", link("GOOD"))), post(&link("GOOD"), "action=rto")] {
            let (status, headers, body) = send(&app, from_ip(request, 1)).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            assert_page_headers(&headers);
            let retry: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
            assert!((3500..=3600).contains(&retry), "{retry}");
            assert!(body.contains("Too many requests") || body.contains("요청이 너무 많습니다"));
        }
        assert!(fake.acts().is_empty());
        assert_eq!(send(&app, from_ip(get(&link("GOOD")), 2)).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn an_oversized_form_is_refused_with_a_page() {
        let fake = FakeCases::new(case(&[NdrActionKind::UpdateAndReattempt]));
        let app = app(fake.clone());
        let big = format!("action=update_and_reattempt&street1={}", "a".repeat(16 * 1024));
        let (status, headers, body) = send(&app, post(&link("GOOD"), &big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_page_headers(&headers);
        assert!(body.contains("The form could not be read"));
        let json = Request::post(link("GOOD")).header(header::CONTENT_TYPE, "application/json").body(Body::from("{}"));
        assert_eq!(send(&app, json.unwrap()).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let full = ["street1", "street2", "phone", "landmark"].map(|f| format!("{f}={}", "b".repeat(200))).join("&");
        let (status, _, _) = send(&app, post(&link("GOOD"), &format!("action=update_and_reattempt&{full}"))).await;
        assert_eq!(status, StatusCode::OK, "a whole corrected address fits");
        assert_eq!(fake.acts().len(), 1);
    }

    #[tokio::test]
    async fn the_page_speaks_each_language() {
        let words = [
            (Language::En, ["Delivery attempt 2 failed", "Deliver it again", "I was at the address; nobody came"]),
            (
                Language::Fr,
                [
                    "Échec de la tentative de livraison n°\u{a0}2",
                    "Livrer à nouveau",
                    "J'étais à l'adresse, personne n'est venu",
                ],
            ),
            (Language::Ko, ["2차 배달 시도 실패", "다시 배달해 주세요", "배송지에 있었지만 아무도 오지 않았습니다"]),
            (Language::Tr, ["2. teslimat denemesi başarısız oldu", "Yeniden teslim et", "Adresteydim, kimse gelmedi"]),
        ];
        let app = app(FakeCases::new(case(NdrActionKind::ALL)));
        for (lang, expected) in words {
            let code = lang.as_str();
            let (status, _, body) = send(&app, get(&format!("{}?lang={code}", link("GOOD")))).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains(&format!(r#"<html lang="{code}">"#)));
            for word in expected {
                assert!(body.contains(&escaped(word)), "{code} lacks {word}");
            }
            assert!(body.contains(&format!("?lang={code}\" class=\"choice\"")), "forms keep the language");
        }
        // Asked for nothing: the store's own language.
        let globex = NdrPage { brand: brand("globex"), ..case(&[NdrActionKind::Rto]) };
        let (_, _, body) = send(
            &ndr_router(FakeCases::new(globex), Limit { burst: 9, replenish_every: Duration::ZERO }),
            get(&link("GOOD")),
        )
        .await;
        assert!(body.contains(r#"<html lang="tr">"#) && body.contains("göndericiye iade et"));
    }

    #[test]
    fn every_state_and_message_renders_in_every_language() {
        let field = Problem::of(&FieldError::new("/landmark", "too long"));
        let problems =
            [Problem::ACTION, Problem::NOTHING_TO_UPDATE, Problem::DATE, Problem::STATEMENT, Problem::OTHER, field];
        let answer = Answer { action: Some("reschedule".into()), ..Answer::default() };
        for lang in Language::ALL {
            for state in NdrState::ALL {
                for requested in [None].into_iter().chain(NdrActionKind::ALL.iter().copied().map(Some)) {
                    let page = NdrPage { lang: *lang, state: *state, requested, ..case(NdrActionKind::ALL) };
                    for html in [render_ndr(&page, &[], None), render_ndr(&page, &problems, Some(&answer))] {
                        let main = &html[html.find("<main>").unwrap()..];
                        assert!(!main.contains("ndr-") && !main.contains("none"), "{}: {main}", lang.as_str());
                    }
                }
            }
            for reason in NdrReason::ALL {
                let html = render_ndr(&NdrPage { lang: *lang, reason: *reason, ..case(&[]) }, &[], None);
                assert!(html.contains(&escaped(&text(*lang, &ndr_key(*reason)))));
            }
        }
    }
}
