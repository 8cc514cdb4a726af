//! The JavaScript package's declarations agree with what they describe: the error codes,
//! the precision names and the pixel limit are written in Rust once and checked here against
//! `js/mirl.d.ts`, `js/README.md` and `js/mirl.js`, and every export of the package's modules
//! is declared. (`tsc --strict` over tests/browser/usage.ts checks the declarations' types.)

use mirl::error::Error;
use mirl::pipeline::MAX_PIXELS;
use mirl::ticket::Precision;

fn read(path: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// One error of each variant: a new variant belongs here (and its code in the declarations).
fn one_of_each() -> Vec<Error> {
    let cause = || "cause".into();
    vec![
        Error::Config(String::new()),
        Error::ConfigJson(serde_json::from_str::<u8>("x").unwrap_err()),
        Error::Ticket(String::new()),
        Error::TicketParse {
            context: String::new(),
            source: cause(),
        },
        Error::TicketWrite {
            context: String::new(),
            source: cause(),
        },
        Error::TicketVersion {
            found: "2".into(),
            supported: 1,
        },
        Error::Weights(String::new()),
        Error::Input(String::new()),
        Error::EmptyImage {
            width: 0,
            height: 0,
        },
        Error::ImageTooLarge {
            width: 1,
            height: 1,
            limit: 1,
        },
        Error::JpegFile {
            context: String::new(),
            source: None,
        },
        Error::Readback(String::new()),
        Error::Image {
            context: String::new(),
            source: cause(),
        },
    ]
}

#[test]
fn every_error_code_is_declared_and_documented() {
    let (dts, readme) = (read("js/mirl.d.ts"), read("js/README.md"));
    let union = &dts[dts
        .find("export type ErrorCode")
        .expect("mirl.d.ts declares ErrorCode")..];
    let union = &union[..union.find(';').unwrap()];
    for error in one_of_each() {
        let code = error.code();
        assert!(
            union.contains(&format!("'{code}'")),
            "ErrorCode in mirl.d.ts lacks '{code}'"
        );
        // TICKET_WRITE_FAILED cannot happen in a page: declared, not documented for it.
        if code != "TICKET_WRITE_FAILED" {
            assert!(
                readme.contains(&format!("`{code}`")),
                "js/README.md does not list {code}"
            );
        }
    }
}

#[test]
fn precision_names_and_the_pixel_limit_agree() {
    let dts = read("js/mirl.d.ts");
    let names: Vec<String> = Precision::ALL
        .iter()
        .map(|p| format!("'{}'", p.name()))
        .collect();
    assert!(
        dts.contains(&format!("precision: {};", names.join(" | "))),
        "TicketInfo.precision in mirl.d.ts is not {}",
        names.join(" | ")
    );
    let js = read("js/mirl.js");
    let digits = MAX_PIXELS.to_string();
    let grouped: String = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("_");
    assert!(
        js.contains(&format!("export const MAX_PIXELS = {grouped};")),
        "MAX_PIXELS in js/mirl.js is not the core's {MAX_PIXELS}"
    );
}

#[test]
fn every_export_is_declared() {
    for (js, dts) in [
        ("js/mirl.js", "js/mirl.d.ts"),
        ("js/mirl-worker.js", "js/mirl-worker.d.ts"),
    ] {
        let (js, dts) = (read(js), read(dts));
        let exports: Vec<(&str, &str)> = js
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| {
                let l = l.strip_prefix("default ").unwrap_or(l);
                let l = l.strip_prefix("async ").unwrap_or(l);
                let (kind, rest) = l.split_once(' ')?;
                let name = rest
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()?;
                Some((kind, name))
            })
            .collect();
        assert!(!exports.is_empty());
        for (kind, name) in exports {
            assert!(
                dts.contains(&format!("{kind} {name}")),
                "`{kind} {name}` is exported but not declared"
            );
        }
    }
}
