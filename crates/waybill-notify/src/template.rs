//! Message templates: merchants write them in a small, safe subset of Jinja (minijinja), over a
//! closed set of variables; Waybill ships defaults for every milestone in every language.
//!
//! Templates come from merchants, so they are checked before they are stored and again before
//! each render: only `if`/`elif`/`else` and one level of `for … in items` are allowed, no
//! template loading, no `*` (string repetition), a small set of filters, a bounded output and
//! a recursion limit. Together these keep the cost of a render proportional to the size of the
//! template and the number of items.

use std::fmt::{self, Write as _};
use std::io;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, context};
use serde::{Deserialize, Serialize};
use waybill_core::{Language, MessageChannel, Milestone, NdrReason, TrackingStatus};

use crate::{segments, words};

/// Every variable a template may use, with what it holds (for the API docs).
pub const VARIABLES: &[(&str, &str)] = &[
    ("customer_name", "The customer's name as the order gives it."),
    ("store_name", "The name of the shop that sends the parcel."),
    ("order_reference", "The order's reference as the shop shows it to customers, such as `#1042`."),
    ("items", "The order's lines: a list of objects with `name`, `sku` and `quantity`."),
    ("carrier", "The carrier's name, such as `UPS`."),
    ("tracking_number", "The carrier's tracking number."),
    ("tracking_url", "The link to the parcel's tracking page."),
    ("edd", "The estimated delivery date, written out in the customer's language; empty when unknown."),
    ("status_text", "Where the parcel is, in the customer's words."),
    ("ndr_reason", "Why the last delivery attempt failed, in the customer's words; empty unless one failed."),
    ("pickup_point", "Where the parcel waits to be collected; empty unless it waits at a pickup point."),
    ("unsubscribe_url", "Email only: the link that stops these messages; may be empty."),
    (
        "ndr_url",
        "Failed deliveries only: the link where the customer chooses what happens next (another attempt, a day, a corrected address, a return); empty otherwise.",
    ),
    (
        "information_field",
        "Information requests only: the detail the carrier asks for, in the customer's words (`your phone number`); empty otherwise.",
    ),
    ("information_url", "Information requests only: the link where the customer gives that detail; empty otherwise."),
    (
        "cancel_url",
        "Shipped messages only: the link where the customer may cancel the order until it leaves, while the shop allows it (`/v1/cancellation-settings`); empty otherwise.",
    ),
];

/// The most a template part may weigh, in bytes.
pub const MAX_PART_BYTES: usize = 16 * 1024;

/// The most a rendered part may weigh, in bytes: a long list of items fits, a runaway loop
/// does not.
pub const MAX_RENDERED_BYTES: usize = 256 * 1024;

/// Deep enough for any sensible nesting of `if`s.
const RECURSION_LIMIT: usize = 64;

/// One line of an order, as a template sees it.
#[derive(Serialize, Clone, Debug)]
pub struct Item {
    pub name: String,
    pub sku: String,
    pub quantity: u32,
}

/// The values a template is rendered with; optional texts are empty when unknown.
#[derive(Serialize, Clone, Debug)]
pub struct Variables {
    pub customer_name: String,
    pub store_name: String,
    pub order_reference: String,
    pub items: Vec<Item>,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: String,
    pub edd: String,
    pub status_text: String,
    pub ndr_reason: String,
    pub pickup_point: String,
    pub unsubscribe_url: String,
    pub ndr_url: String,
    pub information_field: String,
    pub information_url: String,
    pub cancel_url: String,
}

impl Variables {
    /// A plausible shipment in `lang`, for previews and for checking templates.
    pub fn sample(lang: Language) -> Variables {
        let word = |key: &str| words::text(lang, key);
        let tracking_number = match lang {
            Language::En => "1Z999AA10123456784",
            Language::Fr => "6A12345678901",
            Language::Ko => "684512093817",
            Language::Tr => "305918264513",
        };
        Variables {
            customer_name: word("sample-customer-name"),
            store_name: word("sample-store-name"),
            order_reference: "#1042".to_owned(),
            items: vec![
                Item { name: word("sample-item-shirt"), sku: "TS-NAVY-M".to_owned(), quantity: 2 },
                Item { name: word("sample-item-mug"), sku: "MUG-CER-01".to_owned(), quantity: 1 },
            ],
            carrier: word("sample-carrier"),
            tracking_number: tracking_number.to_owned(),
            tracking_url: "https://wbl.example/t/Ab3xK9".to_owned(),
            edd: word("sample-edd"),
            status_text: words::status(lang, TrackingStatus::OutForDelivery),
            ndr_reason: words::ndr_reason(lang, NdrReason::CustomerUnavailable),
            pickup_point: word("sample-pickup-point"),
            unsubscribe_url: "https://wbl.example/u/Zq81Tn".to_owned(),
            ndr_url: "https://wbl.example/n/Xc72Lp".to_owned(),
            information_field: word("info-field-phone"),
            information_url: "https://wbl.example/i/Hv5qNs".to_owned(),
            cancel_url: "https://wbl.example/c/Pw4mRd".to_owned(),
        }
    }

    fn to_value(&self) -> Value {
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|i| context! { name => i.name.clone(), sku => i.sku.clone(), quantity => i.quantity })
            .collect();
        context! {
            customer_name => self.customer_name.clone(),
            store_name => self.store_name.clone(),
            order_reference => self.order_reference.clone(),
            items => items,
            carrier => self.carrier.clone(),
            tracking_number => self.tracking_number.clone(),
            tracking_url => self.tracking_url.clone(),
            edd => self.edd.clone(),
            status_text => self.status_text.clone(),
            ndr_reason => self.ndr_reason.clone(),
            pickup_point => self.pickup_point.clone(),
            unsubscribe_url => self.unsubscribe_url.clone(),
            ndr_url => self.ndr_url.clone(),
            information_field => self.information_field.clone(),
            information_url => self.information_url.clone(),
            cancel_url => self.cancel_url.clone(),
        }
    }
}

/// A template as a merchant writes it: an email has a subject, a text and an HTML part; an SMS
/// has only a text.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TemplateSource {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// Something that keeps a template from being used, and where (1-based; a problem with a
/// whole part is at line 1, column 1).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct TemplateProblem {
    pub field: &'static str,
    pub line: usize,
    pub column: usize,
    pub detail: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}:{}: {}", self.field, self.line, self.column, self.detail)
    }
}

/// Something worth knowing about a template that still works, such as an SMS that costs more
/// than one message.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub field: &'static str,
    pub detail: String,
}

/// A message ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("template problem: {0}")]
    Template(TemplateProblem),
    #[error("the rendered {field} is over {MAX_RENDERED_BYTES} bytes")]
    TooLong { field: &'static str },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    fn field(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Text => "text",
            Part::Html => "html",
        }
    }

    fn problem_at(self, source: &str, at: usize, detail: impl Into<String>) -> TemplateProblem {
        let (line, column) = position(source, at);
        TemplateProblem { field: self.field(), line, column, detail: detail.into() }
    }

    fn whole(self, detail: impl Into<String>) -> TemplateProblem {
        TemplateProblem { field: self.field(), line: 1, column: 1, detail: detail.into() }
    }
}

/// The parts `source` has, or why it does not suit `channel`.
fn parts(channel: MessageChannel, source: &TemplateSource) -> Result<Vec<(Part, &str)>, Vec<TemplateProblem>> {
    let mut problems = Vec::new();
    for (part, given) in [(Part::Subject, &source.subject), (Part::Html, &source.html)] {
        match (channel, given) {
            (MessageChannel::Email, None) => problems.push(part.whole(format!("an email needs a {}", part.field()))),
            (MessageChannel::Sms, Some(_)) => {
                problems.push(part.whole(format!("an SMS has no {}; only text is sent", part.field())))
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut parts = Vec::with_capacity(3);
    if let Some(subject) = &source.subject {
        parts.push((Part::Subject, subject.as_str()));
    }
    parts.push((Part::Text, source.text.as_str()));
    if let Some(html) = &source.html {
        parts.push((Part::Html, html.as_str()));
    }
    Ok(parts)
}

/// Checks a template before it is stored: its shape for the channel, its syntax, its variables,
/// and that it renders with the sample shipment in `lang`. An SMS that needs more than one
/// message is a warning, not a problem.
pub fn check(
    channel: MessageChannel,
    lang: Language,
    source: &TemplateSource,
) -> Result<Vec<Warning>, Vec<TemplateProblem>> {
    let parts = parts(channel, source)?;
    let env = environment();
    let mut problems: Vec<TemplateProblem> = Vec::new();
    for &(part, text) in &parts {
        if text.trim().is_empty() {
            problems.push(part.whole(format!("the {} is empty", part.field())));
            continue;
        }
        let static_problems = guard(part, text);
        if !static_problems.is_empty() {
            problems.extend(static_problems);
            continue;
        }
        match env.template_from_named_str(part.field(), text) {
            Err(e) => problems.push(problem_of(part, text, &e)),
            Ok(template) => {
                let mut unknown: Vec<String> = template
                    .undeclared_variables(false)
                    .into_iter()
                    .filter(|name| VARIABLES.iter().all(|(known, _)| known != name))
                    .collect();
                unknown.sort();
                problems.extend(unknown.iter().map(|name| unknown_variable(part, text, name)));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let sample = Variables::sample(lang);
    let without_extras = Variables {
        edd: String::new(),
        ndr_reason: String::new(),
        pickup_point: String::new(),
        unsubscribe_url: String::new(),
        ndr_url: String::new(),
        information_field: String::new(),
        information_url: String::new(),
        cancel_url: String::new(),
        ..sample.clone()
    };
    let mut warnings = Vec::new();
    for &(part, text) in &parts {
        for (i, vars) in [&sample, &without_extras].into_iter().enumerate() {
            let rendered = match render_part(&env, part, text, &vars.to_value()) {
                Ok(rendered) => rendered,
                Err(RenderError::Template(problem)) => {
                    problems.push(problem);
                    break;
                }
                Err(RenderError::TooLong { .. }) => {
                    problems.push(part.whole(format!("renders to more than {MAX_RENDERED_BYTES} bytes")));
                    break;
                }
            };
            if part == Part::Subject && rendered.trim().contains(['\n', '\r']) {
                let leading = text.len() - text.trim_start().len();
                let at = text.trim().find('\n').map_or(0, |n| leading + n);
                problems.push(part.problem_at(text, at, "the subject renders over more than one line"));
                break;
            }
            if i == 0 && channel == MessageChannel::Sms {
                warnings.extend(sms_warning(lang, &rendered));
            }
        }
    }
    if problems.is_empty() { Ok(warnings) } else { Err(problems) }
}

fn sms_warning(lang: Language, rendered: &str) -> Option<Warning> {
    let cost = segments::count(rendered);
    (cost.segments > 1).then(|| {
        let unit = match cost.encoding {
            segments::Encoding::Gsm7 => "septets",
            segments::Encoding::Ucs2 => "UTF-16 units",
        };
        Warning {
            field: Part::Text.field(),
            detail: format!(
                "with the {} sample shipment this SMS is {} {unit} of {} and is sent as {} messages (one holds {})",
                lang.as_str(),
                cost.units,
                cost.encoding.as_str(),
                cost.segments,
                cost.encoding.single_limit(),
            ),
        }
    })
}

/// Renders a template with a shipment's variables. HTML escapes every variable; the subject
/// comes out as one trimmed line.
pub fn render(channel: MessageChannel, source: &TemplateSource, vars: &Variables) -> Result<Rendered, RenderError> {
    let parts = parts(channel, source).map_err(|mut problems| RenderError::Template(problems.remove(0)))?;
    let env = environment();
    let ctx = vars.to_value();
    let mut rendered = Rendered { subject: None, text: String::new(), html: None };
    for (part, text) in parts {
        let out = render_part(&env, part, text, &ctx)?;
        match part {
            Part::Subject => rendered.subject = Some(out.split_whitespace().collect::<Vec<_>>().join(" ")),
            Part::Text => rendered.text = out,
            Part::Html => rendered.html = Some(out),
        }
    }
    Ok(rendered)
}

fn render_part<'s>(env: &Environment<'s>, part: Part, text: &'s str, ctx: &Value) -> Result<String, RenderError> {
    if let Some(problem) = guard(part, text).into_iter().next() {
        return Err(RenderError::Template(problem));
    }
    let template = env
        .template_from_named_str(part.field(), text)
        .map_err(|e| RenderError::Template(problem_of(part, text, &e)))?;
    let mut out = BoundedOutput::default();
    match template.render_captured_to(ctx, &mut out) {
        Ok(_) => {
            Ok(String::from_utf8(out.bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
        Err(_) if out.overflowed => Err(RenderError::TooLong { field: part.field() }),
        Err(e) => Err(RenderError::Template(problem_of(part, text, &e))),
    }
}

/// Output that refuses to grow past [`MAX_RENDERED_BYTES`], which stops the render.
#[derive(Default)]
struct BoundedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for BoundedOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_RENDERED_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("message too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An environment with no loader, no globals (so no `range`), only filters whose cost is
/// linear in their input, strict undefined variables, and HTML escaping for the HTML part.
fn environment<'s>() -> Environment<'s> {
    use minijinja::{filters, tests};
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_auto_escape_callback(|name| if name == "html" { AutoEscape::Html } else { AutoEscape::None });
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.add_filter("length", filters::length);
    env.add_filter("first", filters::first);
    env.add_filter("last", filters::last);
    env.add_filter("default", filters::default);
    env.add_filter("string", filters::string);
    env.add_filter("int", filters::int);
    env.add_filter("abs", filters::abs);
    env.add_filter("round", filters::round);
    env.add_filter("map", filters::map);
    env.add_filter("join", join);
    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env.add_test("none", tests::is_none);
    env
}

/// `join` that stops before its result outgrows a message (the built-in one would let
/// `"…"|join("…")` square the template's size).
fn join(value: &Value, separator: Option<&str>) -> Result<String, Error> {
    let separator = separator.unwrap_or("");
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        write!(out, "{item}").map_err(|_| Error::new(ErrorKind::WriteFailure, "could not join"))?;
        if out.len() > MAX_RENDERED_BYTES {
            return Err(Error::new(ErrorKind::InvalidOperation, "the joined text is too long"));
        }
    }
    Ok(out)
}

fn problem_of(part: Part, source: &str, e: &Error) -> TemplateProblem {
    let detail = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.range() {
        Some(range) => part.problem_at(source, range.start, detail),
        None => TemplateProblem { field: part.field(), line: e.line().unwrap_or(1), column: 1, detail },
    }
}

fn unknown_variable(part: Part, source: &str, name: &str) -> TemplateProblem {
    let at = variable_uses(source).find(|(_, used)| *used == name).map_or(0, |(at, _)| at);
    let closest = VARIABLES
        .iter()
        .map(|(known, _)| (distance(name, known), *known))
        .min()
        .filter(|(d, known)| *d <= 2 || *d <= known.len() / 3);
    let detail = match closest {
        Some((_, known)) => format!("unknown variable `{name}`; did you mean `{known}`?"),
        None => format!("unknown variable `{name}`"),
    };
    part.problem_at(source, at, detail)
}

/// Levenshtein distance, over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// 1-based line and column (in characters) of byte offset `at`.
fn position(source: &str, at: usize) -> (usize, usize) {
    let before = &source[..at.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Statement,
    Expression,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Name,
    Text,
    Symbol,
}

struct Token<'a> {
    at: usize,
    kind: TokenKind,
    text: &'a str,
}

struct Tag<'a> {
    at: usize,
    kind: TagKind,
    tokens: Vec<Token<'a>>,
}

/// The `{% %}` and `{{ }}` tags of a template, split into tokens the way minijinja's lexer
/// splits them (strings with escapes, brackets that keep a tag open). Returns the tags and the
/// offsets of any tag delimiter found inside a tag. An unterminated tag ends the scan; the
/// parser reports it.
fn scan(source: &str) -> (Vec<Tag<'_>>, Vec<usize>) {
    let bytes = source.as_bytes();
    let mut tags = Vec::new();
    let mut nested = Vec::new();
    let mut i = 0;
    while let Some(found) = source[i..].find('{') {
        let open = i + found;
        let kind = match bytes.get(open + 1) {
            Some(b'%') => TagKind::Statement,
            Some(b'{') => TagKind::Expression,
            Some(b'#') => match source[open + 2..].find("#}") {
                Some(end) => {
                    i = open + 2 + end + 2;
                    continue;
                }
                None => break,
            },
            _ => {
                i = open + 1;
                continue;
            }
        };
        let close = if kind == TagKind::Statement { "%}" } else { "}}" };
        let mut j = open + 2;
        if matches!(bytes.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        let mut tokens = Vec::new();
        let mut depth = 0usize;
        let mut closed = false;
        while j < bytes.len() {
            let rest = &source[j..];
            let c = bytes[j];
            if c.is_ascii_whitespace() {
                j += 1;
            } else if depth == 0
                && (rest.starts_with(close) || (matches!(c, b'-' | b'+') && rest[1..].starts_with(close)))
            {
                j += if rest.starts_with(close) { 2 } else { 3 };
                closed = true;
                break;
            } else if rest.starts_with("{{") || rest.starts_with("{%") || rest.starts_with("{#") {
                nested.push(j);
                j += 2;
            } else if c == b'"' || c == b'\'' {
                let mut k = j + 1;
                while k < bytes.len() && bytes[k] != c {
                    k += if bytes[k] == b'\\' { 2 } else { 1 };
                }
                let end = (k + 1).min(bytes.len());
                tokens.push(Token { at: j, kind: TokenKind::Text, text: &source[j..end] });
                j = end;
            } else if c.is_ascii_alphabetic() || c == b'_' {
                let len = rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).unwrap_or(rest.len());
                tokens.push(Token { at: j, kind: TokenKind::Name, text: &rest[..len] });
                j += len;
            } else {
                let len = rest.chars().next().map_or(1, char::len_utf8);
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                tokens.push(Token { at: j, kind: TokenKind::Symbol, text: &rest[..len] });
                j += len;
            }
        }
        if !closed {
            break;
        }
        tags.push(Tag { at: open, kind, tokens });
        i = j;
    }
    (tags, nested)
}

/// Names used as variables in `source` (not attributes, filters, tests or keyword arguments),
/// with their offsets, in order.
fn variable_uses(source: &str) -> impl Iterator<Item = (usize, &str)> {
    let (tags, _) = scan(source);
    tags.into_iter().flat_map(|tag| {
        let tokens = tag.tokens;
        (0..tokens.len())
            .filter(|&n| {
                let previous = n.checked_sub(1).map(|p| tokens[p].text);
                let next = tokens.get(n + 1).map(|t| t.text);
                tokens[n].kind == TokenKind::Name
                    && !matches!(previous, Some("." | "|" | "is"))
                    && !(previous == Some("not") && n >= 2 && tokens[n - 2].text == "is")
                    && !(next == Some("=") && tokens.get(n + 2).is_none_or(|t| t.text != "="))
            })
            .map(|n| (tokens[n].at, tokens[n].text))
            .collect::<Vec<_>>()
    })
}

/// The rules that bound a render's cost, checked on the source before minijinja sees it.
fn guard(part: Part, source: &str) -> Vec<TemplateProblem> {
    if source.len() > MAX_PART_BYTES {
        return vec![part.whole(format!(
            "the {} is {} bytes; the limit is {MAX_PART_BYTES}",
            part.field(),
            source.len()
        ))];
    }
    let (tags, nested) = scan(source);
    let mut problems: Vec<TemplateProblem> =
        nested.into_iter().map(|at| part.problem_at(source, at, "a tag cannot start inside another tag")).collect();
    let mut loops = 0usize;
    for tag in &tags {
        if let Some(star) = tag.tokens.iter().find(|t| t.text == "*") {
            problems.push(part.problem_at(source, star.at, "`*` is not available in message templates"));
        }
        if tag.kind == TagKind::Expression {
            continue;
        }
        let Some(keyword) = tag.tokens.first() else { continue };
        match keyword.text {
            "if" | "elif" | "else" | "endif" => {}
            "for" => {
                let shape: Vec<&str> = tag.tokens.iter().map(|t| t.text).collect();
                let walks_items = matches!(shape.as_slice(), ["for", name, "in", "items"]
                    if tag.tokens[1].kind == TokenKind::Name && *name != "loop");
                if !walks_items {
                    problems.push(part.problem_at(
                        source,
                        tag.at,
                        "a loop may only walk the items: `{% for item in items %}`",
                    ));
                }
                if loops > 0 {
                    problems.push(part.problem_at(source, tag.at, "loops cannot be nested"));
                }
                loops += 1;
            }
            "endfor" => loops = loops.saturating_sub(1),
            "include" | "import" | "from" | "extends" => problems.push(part.problem_at(
                source,
                tag.at,
                format!("`{}` is not available: a message template cannot load other templates", keyword.text),
            )),
            other => problems.push(part.problem_at(
                source,
                tag.at,
                format!("`{other}` is not available in message templates; use `if` and `for item in items`"),
            )),
        }
    }
    problems
}

struct Defaults {
    subject: &'static str,
    email_text: &'static str,
    email_html: &'static str,
    sms_text: &'static str,
}

struct LanguageDefaults {
    booked: Defaults,
    picked_up: Defaults,
    out_for_delivery: Defaults,
    delivery_failed: Defaults,
    available_for_pickup: Defaults,
    delivered: Defaults,
    exception: Defaults,
    return_to_origin: Defaults,
    cancelled: Defaults,
    information_needed: Defaults,
}

impl LanguageDefaults {
    fn of(&self, m: Milestone) -> &Defaults {
        match m {
            Milestone::Booked => &self.booked,
            Milestone::PickedUp => &self.picked_up,
            Milestone::OutForDelivery => &self.out_for_delivery,
            Milestone::DeliveryFailed => &self.delivery_failed,
            Milestone::AvailableForPickup => &self.available_for_pickup,
            Milestone::Delivered => &self.delivered,
            Milestone::Exception => &self.exception,
            Milestone::ReturnToOrigin => &self.return_to_origin,
            Milestone::Cancelled => &self.cancelled,
            Milestone::InformationNeeded => &self.information_needed,
        }
    }
}

macro_rules! defaults {
    ($lang:literal, $milestone:literal) => {
        Defaults {
            subject: include_str!(concat!("../templates/", $lang, "/", $milestone, ".email.subject")),
            email_text: include_str!(concat!("../templates/", $lang, "/", $milestone, ".email.txt")),
            email_html: include_str!(concat!("../templates/", $lang, "/", $milestone, ".email.html")),
            sms_text: include_str!(concat!("../templates/", $lang, "/", $milestone, ".sms.txt")),
        }
    };
}

macro_rules! language_defaults {
    ($lang:literal) => {
        LanguageDefaults {
            booked: defaults!($lang, "booked"),
            picked_up: defaults!($lang, "picked_up"),
            out_for_delivery: defaults!($lang, "out_for_delivery"),
            delivery_failed: defaults!($lang, "delivery_failed"),
            available_for_pickup: defaults!($lang, "available_for_pickup"),
            delivered: defaults!($lang, "delivered"),
            exception: defaults!($lang, "exception"),
            return_to_origin: defaults!($lang, "return_to_origin"),
            cancelled: defaults!($lang, "cancelled"),
            information_needed: defaults!($lang, "information_needed"),
        }
    };
}

static EN: LanguageDefaults = language_defaults!("en");
static FR: LanguageDefaults = language_defaults!("fr");
static KO: LanguageDefaults = language_defaults!("ko");
static TR: LanguageDefaults = language_defaults!("tr");

/// Waybill's own template for a milestone, channel and language.
pub fn default_template(milestone: Milestone, channel: MessageChannel, lang: Language) -> TemplateSource {
    let language = match lang {
        Language::En => &EN,
        Language::Fr => &FR,
        Language::Ko => &KO,
        Language::Tr => &TR,
    };
    let files = language.of(milestone);
    match channel {
        MessageChannel::Email => TemplateSource {
            subject: Some(files.subject.to_owned()),
            text: files.email_text.to_owned(),
            html: Some(files.email_html.to_owned()),
        },
        MessageChannel::Sms => TemplateSource { subject: None, text: files.sms_text.to_owned(), html: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms(text: &str) -> TemplateSource {
        TemplateSource { subject: None, text: text.to_owned(), html: None }
    }

    fn email(subject: &str, text: &str, html: &str) -> TemplateSource {
        TemplateSource { subject: Some(subject.to_owned()), text: text.to_owned(), html: Some(html.to_owned()) }
    }

    fn refusals(channel: MessageChannel, source: &TemplateSource) -> Vec<TemplateProblem> {
        check(channel, Language::En, source).expect_err("the template should be refused")
    }

    /// `text` as minijinja writes it into HTML.
    fn escaped(text: &str) -> String {
        [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\"", "&quot;"), ("'", "&#x27;"), ("/", "&#x2f;")]
            .iter()
            .fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
    }

    /// The most messages each default SMS may cost with the sample shipment. GSM-7 languages fit
    /// one message; in UCS-2 (Korean, Turkish) a failed delivery's reason, a pickup point's
    /// address or the detail a carrier asks for with its page's link may take a second.
    fn sms_budget(m: Milestone, encoding: segments::Encoding) -> usize {
        match (encoding, m) {
            (
                segments::Encoding::Ucs2,
                Milestone::DeliveryFailed | Milestone::AvailableForPickup | Milestone::InformationNeeded,
            ) => 2,
            _ => 1,
        }
    }

    #[test]
    fn every_default_checks_and_renders_in_every_language() {
        for &lang in Language::ALL {
            let vars = Variables::sample(lang);
            for &m in Milestone::ALL {
                for &channel in MessageChannel::ALL {
                    let source = default_template(m, channel, lang);
                    let name = format!("{}/{}/{}", lang.as_str(), m.as_str(), channel.as_str());
                    let warnings = check(channel, lang, &source).unwrap_or_else(|p| panic!("{name}: {p:?}"));
                    let rendered = render(channel, &source, &vars).unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert!(rendered.text.contains(&vars.order_reference), "{name}: {}", rendered.text);
                    assert!(!rendered.text.contains("{{") && !rendered.text.contains("{%"), "{name}");
                    match channel {
                        MessageChannel::Sms => {
                            let cost = segments::count(&rendered.text);
                            assert!(
                                cost.segments <= sms_budget(m, cost.encoding),
                                "{name}: {cost:?} {}",
                                rendered.text
                            );
                            assert_eq!(warnings.is_empty(), cost.segments == 1, "{name}");
                        }
                        MessageChannel::Email => {
                            assert!(warnings.is_empty());
                            let subject = rendered.subject.expect("email subject");
                            assert!(!subject.is_empty() && !subject.contains('\n'), "{name}");
                            let html = rendered.html.expect("email html");
                            assert!(html.contains(&format!("<html lang=\"{}\">", lang.as_str())), "{name}");
                            assert!(!html.contains("<img") && !html.contains("<link"), "{name}");
                            assert!(html.contains(&escaped(&vars.unsubscribe_url)), "{name}: unsubscribe link");
                            assert!(rendered.text.contains("https://wbl.example/u/Zq81Tn"), "{name}: unsubscribe link");
                            for item in &vars.items {
                                assert!(rendered.text.contains(&item.name), "{name}: {}", item.name);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn defaults_carry_what_each_milestone_needs() {
        for &lang in Language::ALL {
            let vars = Variables::sample(lang);
            let email =
                |m| render(MessageChannel::Email, &default_template(m, MessageChannel::Email, lang), &vars).unwrap();
            let booked = email(Milestone::Booked);
            assert!(
                booked.text.contains(&vars.tracking_url) && booked.html.unwrap().contains(&escaped(&vars.tracking_url))
            );
            let failed = email(Milestone::DeliveryFailed);
            assert!(failed.text.contains(&vars.ndr_reason), "{}", failed.text);
            assert!(failed.html.unwrap().contains(&escaped(&vars.ndr_reason)));
            let pickup = email(Milestone::AvailableForPickup);
            assert!(pickup.text.contains(&vars.pickup_point), "{}", pickup.text);

            let quiet = Variables { unsubscribe_url: String::new(), ndr_reason: String::new(), ..vars.clone() };
            let failed = render(
                MessageChannel::Email,
                &default_template(Milestone::DeliveryFailed, MessageChannel::Email, lang),
                &quiet,
            )
            .unwrap();
            assert!(!failed.html.unwrap().contains("href=\"\""), "no empty unsubscribe link");
            assert!(!failed.text.contains("--"), "no unsubscribe footer without a link");
        }
        let tr = Variables::sample(Language::Tr);
        assert_eq!(tr.customer_name, "Ayşe Yılmaz");
        assert!(tr.pickup_point.contains("İstanbul"));
        assert_eq!(Variables::sample(Language::Ko).customer_name, "김민지");
    }

    #[test]
    fn the_documented_variables_are_exactly_the_fields() {
        let json = serde_json::to_value(Variables::sample(Language::En)).unwrap();
        let fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut documented: Vec<&str> = VARIABLES.iter().map(|(name, _)| *name).collect();
        documented.sort_unstable();
        let mut fields = fields;
        fields.sort_unstable();
        assert_eq!(fields, documented);
        let all = VARIABLES.iter().map(|(name, _)| format!("{{{{ {name} }}}}")).collect::<String>();
        assert_eq!(check(MessageChannel::Sms, Language::En, &sms(&all)).map(|_| ()), Ok(()));
    }

    #[test]
    fn a_misspelt_variable_is_reported_where_it_is_with_a_hint() {
        let source = sms("Hello {{ customer_name }},\nyour parcel, {{ customer_nme }}, is here.");
        let problems = refusals(MessageChannel::Sms, &source);
        assert_eq!(
            problems,
            [TemplateProblem {
                field: "text",
                line: 2,
                column: 17,
                detail: "unknown variable `customer_nme`; did you mean `customer_name`?".to_owned(),
            }]
        );
        let far = refusals(MessageChannel::Sms, &sms("{{ item.name }} {{ weather }}"));
        assert_eq!(far.len(), 2, "{far:?}");
        assert_eq!((far[0].line, far[0].column), (1, 4));
        assert_eq!(far[0].detail, "unknown variable `item`; did you mean `items`?");
        assert_eq!((far[1].column, far[1].detail.as_str()), (20, "unknown variable `weather`"));
    }

    #[test]
    fn loop_variables_filters_and_keywords_are_not_unknown() {
        let source = sms(
            "{% for line in items %}{{ loop.index }}. {{ line.name|upper }} x{{ line.quantity }}{% endfor %}\
             {{ items|map(attribute='sku')|join(', ') }}{% if edd is defined and not ndr_reason %} {{ edd|default('-') }}{% endif %}",
        );
        assert_eq!(check(MessageChannel::Sms, Language::En, &source).map(|_| ()), Ok(()));
        let out = render(MessageChannel::Sms, &source, &Variables::sample(Language::En)).unwrap();
        assert!(
            out.text.starts_with("1. COTTON T-SHIRT, NAVY, M x22. CERAMIC MUG x1TS-NAVY-M, MUG-CER-01"),
            "{}",
            out.text
        );
    }

    #[test]
    fn syntax_errors_point_at_the_line_and_column() {
        let source = email("Your order", "Hello\nthere {{ customer_name }", "<p>{% if edd %}x</p>");
        let problems = refusals(MessageChannel::Email, &source);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!((problems[0].field, problems[0].line), ("text", 2));
        assert!(problems[0].detail.starts_with("syntax error"), "{problems:?}");
        assert_eq!(problems[1].field, "html");
        assert!(problems[1].detail.contains("syntax error"), "{problems:?}");
    }

    #[test]
    fn parts_must_suit_the_channel() {
        let email_without_html = TemplateSource { subject: Some("s".into()), text: "t".into(), html: None };
        let problems = refusals(MessageChannel::Email, &email_without_html);
        assert_eq!(problems.iter().map(|p| p.field).collect::<Vec<_>>(), ["html"]);
        let sms_with_subject = TemplateSource { subject: Some("s".into()), text: "t".into(), html: None };
        assert_eq!(refusals(MessageChannel::Sms, &sms_with_subject)[0].field, "subject");
        assert_eq!(refusals(MessageChannel::Sms, &sms("  \n"))[0].detail, "the text is empty");
        let big = sms(&"x".repeat(MAX_PART_BYTES + 1));
        assert!(refusals(MessageChannel::Sms, &big)[0].detail.contains("limit"));
        let render_error = render(MessageChannel::Email, &email_without_html, &Variables::sample(Language::En));
        assert!(matches!(render_error, Err(RenderError::Template(TemplateProblem { field: "html", .. }))));
    }

    #[test]
    fn a_subject_must_stay_on_one_line() {
        let source = email("Your order {{ order_reference }}\nhas shipped", "t", "<p>h</p>");
        let problems = refusals(MessageChannel::Email, &source);
        assert_eq!(problems[0].field, "subject");
        assert_eq!((problems[0].line, problems[0].column), (1, 33));
        let vars = Variables { order_reference: "#1\r\nBcc: x@example.com".into(), ..Variables::sample(Language::En) };
        let ok = email("Order {{ order_reference }} shipped", "t", "<p>h</p>");
        let out = render(MessageChannel::Email, &ok, &vars).unwrap();
        assert_eq!(out.subject.unwrap(), "Order #1 Bcc: x@example.com shipped");
    }

    #[test]
    fn html_escapes_and_text_does_not() {
        let vars =
            Variables { customer_name: "<script>alert(1)</script> & Co".into(), ..Variables::sample(Language::En) };
        let source = email("Hi {{ customer_name }}", "Hi {{ customer_name }}", "<p>Hi {{ customer_name }}</p>");
        let out = render(MessageChannel::Email, &source, &vars).unwrap();
        assert_eq!(out.html.unwrap(), "<p>Hi &lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; Co</p>");
        assert_eq!(out.text, "Hi <script>alert(1)</script> & Co");
        assert_eq!(out.subject.unwrap(), "Hi <script>alert(1)</script> & Co");
    }

    #[test]
    fn loading_and_costly_features_are_refused() {
        let refused = [
            ("{% include 'header.txt' %}", "`include` is not available"),
            ("{% import 'm' as m %}", "`import` is not available"),
            ("{% extends 'base' %}", "`extends` is not available"),
            ("{% from 'm' import x %}", "`from` is not available"),
            ("{% for i in range(100000000) %}x{% endfor %}", "a loop may only walk the items"),
            ("{% for c in 'abc' %}x{% endfor %}", "a loop may only walk the items"),
            ("{% for a in items %}{% for b in items %}x{% endfor %}{% endfor %}", "loops cannot be nested"),
            ("{% macro m() %}{% endmacro %}", "`macro` is not available"),
            ("{% set x = 1 %}", "`set` is not available"),
            ("{% autoescape false %}{% endautoescape %}", "`autoescape` is not available"),
            ("{% raw %}{% endraw %}", "`raw` is not available"),
            ("{{ 'x' * 100000000 }}", "`*` is not available"),
            ("{{ '%}' ~ customer_name }}", ""),
        ];
        for (text, expected) in refused {
            let outcome = check(MessageChannel::Sms, Language::En, &sms(text));
            if expected.is_empty() {
                assert!(outcome.is_ok(), "{text}: {outcome:?}");
                continue;
            }
            let problems = outcome.expect_err(text);
            assert!(problems.iter().any(|p| p.detail.contains(expected)), "{text}: {problems:?}");
            let rendered = render(MessageChannel::Sms, &sms(text), &Variables::sample(Language::En));
            assert!(matches!(rendered, Err(RenderError::Template(_))), "{text}: {rendered:?}");
        }
        for text in ["{{ range(10) }}", "{{ customer_name|center(100000000) }}", "{{ 'ab'|replace('a', 'aaaa') }}"] {
            assert!(check(MessageChannel::Sms, Language::En, &sms(text)).is_err(), "{text}");
        }
    }

    #[test]
    fn a_runaway_template_stops_at_the_output_bound() {
        let many = Variables {
            items: vec![Item { name: "x".repeat(1000), sku: "S".into(), quantity: 1 }; 300],
            ..Variables::sample(Language::En)
        };
        let source = sms("{% for item in items %}{{ item.name }}{% endfor %}");
        assert_eq!(render(MessageChannel::Sms, &source, &many), Err(RenderError::TooLong { field: "text" }));
        let joined = sms("{{ items|map(attribute='name')|join(store_name) }}");
        assert!(render(MessageChannel::Sms, &joined, &many).is_err());
    }

    #[test]
    fn a_long_sms_is_a_warning_naming_its_cost() {
        let source =
            sms("{{ store_name }}: {{ status_text }}. {{ ndr_reason }}. {{ pickup_point }}. {{ tracking_url }}");
        let warnings = check(MessageChannel::Sms, Language::Tr, &source).unwrap();
        let text = render(MessageChannel::Sms, &source, &Variables::sample(Language::Tr)).unwrap().text;
        let cost = segments::count(&text);
        assert!(cost.segments > 1, "{text}");
        let expected = format!("{} UTF-16 units of UCS-2 and is sent as {} messages", cost.units, cost.segments);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].detail.contains(&expected), "{warnings:?}");
        assert!(
            check(MessageChannel::Sms, Language::En, &sms("{{ store_name }}: {{ status_text }}")).unwrap().is_empty()
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(position("ab\nçğ{{ x }}", 7), (2, 3));
        assert_eq!(position("", 0), (1, 1));
        assert_eq!(distance("customer_nme", "customer_name"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
