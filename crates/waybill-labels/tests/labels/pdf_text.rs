//! Just enough PDF reading to get the text back out of a one-page label: the page's content
//! stream is decoded, and every glyph code shown is mapped through its font's ToUnicode CMap.
//! This proves the text is really there (and searchable, copyable) in the right characters.

use std::collections::HashMap;
use std::io::Read;

/// The text shown on the first page, in drawing order, with nothing between the pieces.
pub fn extract_text(pdf: &[u8]) -> String {
    let page = object_with(pdf, b"/Type/Page/").expect("a page object");
    let contents = stream(pdf, reference(page, b"/Contents").expect("page /Contents"));
    let resources = object(pdf, reference(page, b"/Resources").expect("page /Resources"));
    let fonts = font_maps(pdf, resources);

    let mut text = String::new();
    let mut font: Option<&HashMap<u16, String>> = None;
    let mut last_name = String::new();
    let mut lexer = Lexer { bytes: &contents, pos: 0 };
    while let Some(token) = lexer.next() {
        match token {
            Token::Name(name) => last_name = name,
            Token::Operator(op) if op == "Tf" => font = fonts.get(&last_name),
            Token::String(codes) => {
                let map = font.expect("a font is selected before text is shown");
                for pair in codes.chunks(2) {
                    let code = u16::from_be_bytes([pair[0], pair[1]]);
                    text.push_str(map.get(&code).map_or("\u{FFFD}", String::as_str));
                }
            }
            _ => {}
        }
    }
    text
}

/// Resource name (`f0`, …) to that font's code → text map.
fn font_maps(pdf: &[u8], resources: &[u8]) -> HashMap<String, HashMap<u16, String>> {
    let start = find(resources, b"/Font<<").expect("resources name fonts") + 7;
    let end = start + find(&resources[start..], b">>").expect("font dictionary ends");
    let mut maps = HashMap::new();
    let entries = std::str::from_utf8(&resources[start..end]).expect("ASCII font dictionary");
    for entry in entries.split('/').filter(|e| !e.is_empty()) {
        let mut parts = entry.split_whitespace();
        let name = parts.next().expect("font resource name").to_owned();
        let id: u32 = parts.next().expect("object number").parse().expect("number");
        let font = object(pdf, id);
        let cmap = stream(pdf, reference(font, b"/ToUnicode").expect("font has /ToUnicode"));
        maps.insert(name, parse_cmap(&String::from_utf8_lossy(&cmap)));
    }
    maps
}

/// The `bfchar` entries of a ToUnicode CMap (krilla writes no ranges).
fn parse_cmap(cmap: &str) -> HashMap<u16, String> {
    let mut map = HashMap::new();
    for section in cmap.split("beginbfchar").skip(1) {
        let body = section.split("endbfchar").next().unwrap_or("");
        for line in body.lines() {
            let hexes: Vec<&str> = line.split(['<', '>']).map(str::trim).filter(|s| !s.is_empty()).collect();
            if let [code, unicode] = hexes[..] {
                let code = u16::from_str_radix(code, 16).expect("hex code");
                let units: Vec<u16> = (0..unicode.len())
                    .step_by(4)
                    .map(|i| u16::from_str_radix(&unicode[i..i + 4], 16).expect("hex UTF-16"))
                    .collect();
                map.insert(code, String::from_utf16(&units).expect("valid UTF-16"));
            }
        }
    }
    map
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The body of object `id`, from after `id 0 obj` to `endobj`.
fn object(pdf: &[u8], id: u32) -> &[u8] {
    let header = format!("{id} 0 obj");
    let mut from = 0;
    loop {
        let at = from + find(&pdf[from..], header.as_bytes()).expect("object exists");
        // "12 0 obj" also contains "2 0 obj".
        if at == 0 || !pdf[at - 1].is_ascii_digit() {
            let body = &pdf[at + header.len()..];
            return &body[..find(body, b"endobj").expect("object ends")];
        }
        from = at + 1;
    }
}

/// The body of the first object whose dictionary contains `marker`.
fn object_with<'p>(pdf: &'p [u8], marker: &[u8]) -> Option<&'p [u8]> {
    let at = find(pdf, marker)?;
    let start = pdf[..at].windows(3).rposition(|w| w == b"obj")? + 3;
    let body = &pdf[start..];
    Some(&body[..find(body, b"endobj")?])
}

/// The number after `key`: the object number in `key N 0 R`, or a direct `/Length N`.
fn reference(dict: &[u8], key: &[u8]) -> Option<u32> {
    let at = find(dict, key)? + key.len();
    let digits: Vec<u8> =
        dict[at..].iter().copied().skip_while(u8::is_ascii_whitespace).take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// The decoded data of stream object `id`.
fn stream(pdf: &[u8], id: u32) -> Vec<u8> {
    let body = object(pdf, id);
    let length = reference(body, b"/Length").expect("stream /Length") as usize;
    let mut start = find(body, b"stream").expect("a stream") + 6;
    while body[start] == b'\r' || body[start] == b'\n' {
        start += 1;
    }
    let raw = &body[start..start + length];
    if find(body, b"/FlateDecode").is_none() {
        return raw.to_vec();
    }
    let mut data = Vec::new();
    flate2::read::ZlibDecoder::new(raw).read_to_end(&mut data).expect("stream inflates");
    data
}

enum Token {
    Name(String),
    String(Vec<u8>),
    Operator(String),
    Other,
}

/// A content stream lexer covering what krilla writes: names, literal and hex strings,
/// numbers, arrays and operators.
struct Lexer<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<Token> {
        while self.peek()?.is_ascii_whitespace() {
            self.pos += 1;
        }
        let c = self.peek()?;
        self.pos += 1;
        Some(match c {
            b'/' => Token::Name(self.word()),
            b'(' => Token::String(self.literal()),
            b'<' => Token::String(self.hex()),
            b'[' | b']' => Token::Other,
            c if c.is_ascii_alphabetic() || c == b'\'' || c == b'"' => {
                self.pos -= 1;
                Token::Operator(self.word())
            }
            _ => {
                self.word();
                Token::Other
            }
        })
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || b"/()<>[]".contains(&c) {
                break;
            }
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned()
    }

    fn literal(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut depth = 0;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' if depth == 0 => break,
                b')' => {
                    depth -= 1;
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek().expect("escape");
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(value as u8);
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        out
    }

    fn hex(&mut self) -> Vec<u8> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c != b'>') {
            self.pos += 1;
        }
        let digits: Vec<u8> = self.bytes[start..self.pos].iter().copied().filter(u8::is_ascii_hexdigit).collect();
        self.pos += 1;
        digits
            .chunks(2)
            .map(|pair| {
                let s = std::str::from_utf8(pair).expect("hex digits");
                u8::from_str_radix(&format!("{s:0<2}"), 16).expect("hex byte")
            })
            .collect()
    }
}
