//! Progress reporting: the time left, estimated from the time spent so far, and how it reads on
//! the page.

/// Seconds left, extrapolated linearly from `elapsed_seconds` for `fraction` of the work. `None`
/// until the estimate means something: the first window includes model loading and warm-up, so
/// very early figures would mislead.
pub fn seconds_left(elapsed_seconds: f64, fraction: f64) -> Option<f64> {
    if !(0.02..1.0).contains(&fraction) || elapsed_seconds < 0.5 {
        return None;
    }
    Some(elapsed_seconds * (1.0 - fraction) / fraction)
}

/// "about 40 s left", "about 3 min left"; rounded, since the estimate is rough.
pub fn describe_time_left(seconds: Option<f64>) -> String {
    match seconds {
        None => "estimating the time left…".into(),
        Some(s) if s < 1.5 => "almost done".into(),
        Some(s) if s < 60.0 => format!("about {} s left", s.round() as u64),
        Some(s) if s < 3600.0 => {
            let minutes = (s / 60.0).round() as u64;
            format!("about {minutes} min left")
        }
        Some(s) => format!("about {:.1} h left", s / 3600.0),
    }
}

/// A duration as `m:ss` (or `h:mm:ss`), as players show it.
pub fn clock(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_is_linear_and_withheld_early() {
        assert_eq!(seconds_left(10.0, 0.25), Some(30.0));
        assert_eq!(seconds_left(10.0, 0.01), None);
        assert_eq!(seconds_left(0.1, 0.5), None);
        assert_eq!(seconds_left(10.0, 1.0), None);
    }

    #[test]
    fn descriptions_and_clock() {
        assert_eq!(describe_time_left(None), "estimating the time left…");
        assert_eq!(describe_time_left(Some(0.4)), "almost done");
        assert_eq!(describe_time_left(Some(41.6)), "about 42 s left");
        assert_eq!(describe_time_left(Some(190.0)), "about 3 min left");
        assert_eq!(clock(65.4), "1:05");
        assert_eq!(clock(3725.0), "1:02:05");
    }
}
