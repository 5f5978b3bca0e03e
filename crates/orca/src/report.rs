//! Reading and writing one `endpoint-load-metrics` header value.

use http::HeaderValue;

/// The utilization a load report states, for the balancer: see [`crate::parse`].
pub fn parse(value: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (form, rest) = text.split_once(|c: char| c.is_ascii_whitespace())?;
    let fields = if form.eq_ignore_ascii_case("TEXT") {
        text_fields(rest)?
    } else if form.eq_ignore_ascii_case("JSON") {
        json_fields(rest)?
    } else {
        // `BIN` (a base64 protobuf) and anything else.
        return None;
    };
    fields.utilization()
}

/// `TEXT application_utilization=0.420`: `utilization` clamped to [0, 1], three decimals.
///
/// NaN counts as 0 (nothing known), infinity as 1.
pub fn format_text(application_utilization: f64) -> HeaderValue {
    let u = match application_utilization {
        u if u.is_nan() => 0.0,
        u => u.clamp(0.0, 1.0),
    };
    HeaderValue::try_from(format!("TEXT application_utilization={u:.3}"))
        .expect("ASCII digits make a valid header value")
}

/// The two fields the balancer reads.
#[derive(Default)]
struct Fields {
    application: Option<f64>,
    cpu: Option<f64>,
}

impl Fields {
    /// Sets a field once; a second value for it makes the report ambiguous.
    fn set(slot: &mut Option<f64>, value: f64) -> Option<()> {
        if slot.is_some() || !value.is_finite() || value < 0.0 {
            return None;
        }
        *slot = Some(value);
        Some(())
    }

    /// gRPC's rule: application utilization when it is above zero, else CPU utilization.
    fn utilization(&self) -> Option<f64> {
        let chosen = match (self.application, self.cpu) {
            (Some(a), _) if a > 0.0 => a,
            (_, Some(c)) => c,
            (Some(a), None) => a,
            (None, None) => return None,
        };
        Some(chosen.clamp(0.0, 1.0))
    }
}

/// `cpu_utilization=0.42, application_utilization=0.5, named_metrics.foo=1`.
fn text_fields(rest: &str) -> Option<Fields> {
    let mut fields = Fields::default();
    for entry in rest.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let (key, value) = entry.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            return None;
        }
        let slot = match key {
            "application_utilization" => &mut fields.application,
            "cpu_utilization" => &mut fields.cpu,
            // mem_utilization, rps_fractional, eps, named_metrics.*, ...: not read.
            _ => continue,
        };
        Fields::set(slot, value.parse().ok()?)?;
    }
    Some(fields)
}

/// `{"cpu_utilization":0.42,"application_utilization":0.5}`; the protobuf JSON mapping also
/// allows the lowerCamelCase names (`applicationUtilization`).
fn json_fields(rest: &str) -> Option<Fields> {
    let value: serde_json::Value = serde_json::from_str(rest).ok()?;
    let object = value.as_object()?;
    let mut fields = Fields::default();
    for (key, value) in object {
        let slot = match key.as_str() {
            "application_utilization" | "applicationUtilization" => &mut fields.application,
            "cpu_utilization" | "cpuUtilization" => &mut fields.cpu,
            _ => continue,
        };
        Fields::set(slot, value.as_f64()?)?;
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<f64> {
        parse(s.as_bytes())
    }

    #[test]
    fn text_form() {
        assert_eq!(
            p(
                "TEXT cpu_utilization=0.42, application_utilization=0.5, mem_utilization=0.3, named_metrics.foo=1"
            ),
            Some(0.5)
        );
        assert_eq!(p("TEXT cpu_utilization=0.42"), Some(0.42));
        assert_eq!(
            p("  TEXT   cpu_utilization = 0.25 ,mem_utilization=0.9,  "),
            Some(0.25)
        );
        assert_eq!(p("TEXT\tapplication_utilization=1e-1"), Some(0.1));
        assert_eq!(p("text application_utilization=0.7"), Some(0.7));
    }

    #[test]
    fn json_form() {
        assert_eq!(
            p(r#"JSON {"cpu_utilization":0.42,"application_utilization":0.5}"#),
            Some(0.5)
        );
        assert_eq!(p(r#"JSON { "cpu_utilization": 0.42 }"#), Some(0.42));
        assert_eq!(
            p(r#"JSON {"cpuUtilization":0.3,"memUtilization":0.9}"#),
            Some(0.3)
        );
        assert_eq!(
            p(r#"JSON {"applicationUtilization":0.6,"named_metrics":{"foo":1}}"#),
            Some(0.6)
        );
    }

    #[test]
    fn application_utilization_wins_when_above_zero() {
        assert_eq!(
            p("TEXT application_utilization=0, cpu_utilization=0.4"),
            Some(0.4)
        );
        assert_eq!(
            p("TEXT cpu_utilization=0.4, application_utilization=0.1"),
            Some(0.1)
        );
        assert_eq!(p("TEXT application_utilization=0"), Some(0.0));
        assert_eq!(
            p(r#"JSON {"application_utilization":0,"cpu_utilization":0.2}"#),
            Some(0.2)
        );
        // Neither field: no utilization reported.
        assert_eq!(p("TEXT mem_utilization=0.3, named_metrics.foo=1"), None);
        assert_eq!(p("JSON {}"), None);
    }

    #[test]
    fn clamps_to_one() {
        // cpu_utilization may exceed 1 on a multi-core machine.
        assert_eq!(p("TEXT cpu_utilization=3.5"), Some(1.0));
        assert_eq!(p("TEXT application_utilization=1.2"), Some(1.0));
        assert_eq!(p(r#"JSON {"cpu_utilization":2}"#), Some(1.0));
    }

    #[test]
    fn malformed_is_none() {
        for bad in [
            "",
            "TEXT",
            "TEXT ",
            "cpu_utilization=0.4",
            "BIN CgQIARAB",
            "XML <cpu>0.4</cpu>",
            "TEXT cpu_utilization",
            "TEXT cpu_utilization=",
            "TEXT =0.4",
            "TEXT cpu_utilization=abc",
            "TEXT cpu_utilization=NaN",
            "TEXT cpu_utilization=inf",
            "TEXT cpu_utilization=-0.1",
            "TEXT application_utilization=-1, cpu_utilization=0.5",
            "TEXT cpu_utilization=0.1, cpu_utilization=0.2",
            "TEXT cpu_utilization=0.1 application_utilization=0.2",
            "JSON",
            "JSON {",
            "JSON [0.4]",
            "JSON 0.4",
            r#"JSON {"cpu_utilization":"0.4"}"#,
            r#"JSON {"cpu_utilization":-0.4}"#,
            r#"JSON {"cpu_utilization":1e400}"#,
            r#"JSON {"cpu_utilization":0.1,"cpuUtilization":0.2}"#,
            "TEXTcpu_utilization=0.4",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
        assert_eq!(parse(b"TEXT cpu_utilization=0.\xff4"), None);
    }

    #[test]
    fn deep_json_does_not_overflow() {
        let deep = format!("JSON {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(p(&deep), None);
        let deep = format!("JSON {}", r#"{"a":"#.repeat(100_000));
        assert_eq!(p(&deep), None);
    }

    #[test]
    fn formats_text() {
        assert_eq!(format_text(0.42), "TEXT application_utilization=0.420");
        assert_eq!(format_text(0.0), "TEXT application_utilization=0.000");
        assert_eq!(format_text(1.0 / 3.0), "TEXT application_utilization=0.333");
        assert_eq!(format_text(7.0), "TEXT application_utilization=1.000");
        assert_eq!(format_text(-1.0), "TEXT application_utilization=0.000");
        assert_eq!(format_text(f64::NAN), "TEXT application_utilization=0.000");
        assert_eq!(
            format_text(f64::INFINITY),
            "TEXT application_utilization=1.000"
        );
        for u in [0.0, 0.125, 0.42, 0.999, 1.0] {
            let parsed = parse(format_text(u).as_bytes()).unwrap();
            assert!((parsed - u).abs() < 0.0005, "{u} -> {parsed}");
        }
    }

    /// No input panics, and every answer is a utilization in [0, 1].
    #[test]
    fn random_bytes_never_panic() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let prefixes: [&[u8]; 5] = [b"", b"TEXT ", b"JSON ", b"BIN ", b"TEXT cpu_utilization="];
        let alphabet = b"TEXTJSON cpu_utilizationapplication_=,.{}[]\":0123456789e-+ \t\xff\x00";
        for round in 0..20_000 {
            let mut input = prefixes[round % prefixes.len()].to_vec();
            let len = (next() % 64) as usize;
            for _ in 0..len {
                let r = next();
                // Half the bytes from an alphabet that reaches the parsers, half anything.
                input.push(match r & 1 {
                    0 => alphabet[(r >> 8) as usize % alphabet.len()],
                    _ => (r >> 8) as u8,
                });
            }
            if let Some(u) = parse(&input) {
                assert!((0.0..=1.0).contains(&u), "{input:?} -> {u}");
            }
        }
    }
}
