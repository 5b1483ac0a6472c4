//! Integration tests: render real labels and check what a scanner, a PDF reader and a
//! printer would get out of them.

mod manifest;
mod pdf;
mod pdf_text;
mod png;
mod robustness;
mod specs;
mod zpl;
