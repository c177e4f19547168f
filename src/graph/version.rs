//! Graph API versions: which `vNN.0` path prefixes are served, and by which version.

use chrono::{DateTime, NaiveDate, Utc};

/// One Graph API version with its lifetime (Meta's versions table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphVersion {
    /// The path spelling, e.g. `v23.0`.
    pub name: &'static str,
    /// Release date.
    pub released: NaiveDate,
    /// First day the version is no longer usable, when announced.
    pub expires: Option<NaiveDate>,
}

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("invalid date in the version table"),
    }
}

/// Meta's table, oldest first (v2.0 to v26.0): release date and the first day the version is
/// no longer usable. Sources: Graph API "Versions" page (release and expiration dates, v2.2 to
/// v15.0 as copied in 2023-2025, v16.0 to v26.0 as in API-FACTS §9) and the older platform
/// changelog ("Unavailable as of" August 7 and October 30, 2016, for v2.0 and v2.1). Meta
/// gives a date, not an hour: the emulator takes the version out at 00:00 UTC of that day.
pub const VERSIONS: [GraphVersion; 40] = [
    v("v2.0", date(2014, 4, 30), Some(date(2016, 8, 7))),
    v("v2.1", date(2014, 8, 7), Some(date(2016, 10, 30))),
    v("v2.2", date(2014, 10, 30), Some(date(2017, 3, 27))),
    v("v2.3", date(2015, 3, 25), Some(date(2017, 7, 10))),
    v("v2.4", date(2015, 7, 8), Some(date(2017, 10, 9))),
    v("v2.5", date(2015, 10, 7), Some(date(2018, 4, 12))),
    v("v2.6", date(2016, 4, 12), Some(date(2018, 7, 13))),
    v("v2.7", date(2016, 7, 13), Some(date(2018, 10, 5))),
    v("v2.8", date(2016, 10, 5), Some(date(2019, 4, 18))),
    v("v2.9", date(2017, 4, 18), Some(date(2019, 7, 22))),
    v("v2.10", date(2017, 7, 18), Some(date(2019, 11, 7))),
    v("v2.11", date(2017, 11, 7), Some(date(2020, 1, 28))),
    v("v2.12", date(2018, 1, 30), Some(date(2020, 5, 5))),
    v("v3.0", date(2018, 5, 1), Some(date(2020, 7, 28))),
    v("v3.1", date(2018, 7, 26), Some(date(2020, 10, 27))),
    v("v3.2", date(2018, 10, 23), Some(date(2021, 5, 4))),
    v("v3.3", date(2019, 4, 30), Some(date(2021, 8, 3))),
    v("v4.0", date(2019, 7, 29), Some(date(2021, 11, 2))),
    v("v5.0", date(2019, 10, 29), Some(date(2022, 2, 3))),
    v("v6.0", date(2020, 2, 3), Some(date(2022, 5, 5))),
    v("v7.0", date(2020, 5, 5), Some(date(2022, 8, 4))),
    v("v8.0", date(2020, 8, 4), Some(date(2022, 11, 1))),
    v("v9.0", date(2020, 11, 10), Some(date(2023, 2, 23))),
    v("v10.0", date(2021, 2, 23), Some(date(2023, 6, 8))),
    v("v11.0", date(2021, 6, 8), Some(date(2023, 9, 14))),
    v("v12.0", date(2021, 9, 14), Some(date(2024, 2, 8))),
    v("v13.0", date(2022, 2, 8), Some(date(2024, 5, 28))),
    v("v14.0", date(2022, 5, 25), Some(date(2024, 9, 17))),
    v("v15.0", date(2022, 9, 15), Some(date(2024, 11, 20))),
    v("v16.0", date(2023, 2, 2), Some(date(2025, 5, 14))),
    v("v17.0", date(2023, 5, 23), Some(date(2025, 9, 12))),
    v("v18.0", date(2023, 9, 12), Some(date(2026, 1, 26))),
    v("v19.0", date(2024, 1, 23), Some(date(2026, 5, 21))),
    v("v20.0", date(2024, 5, 21), Some(date(2026, 9, 24))),
    v("v21.0", date(2024, 10, 2), Some(date(2027, 1, 21))),
    v("v22.0", date(2025, 1, 21), Some(date(2027, 5, 20))),
    v("v23.0", date(2025, 5, 29), Some(date(2027, 10, 8))),
    v("v24.0", date(2025, 10, 8), Some(date(2028, 2, 18))),
    v("v25.0", date(2026, 2, 18), Some(date(2028, 7, 29))),
    v("v26.0", date(2026, 7, 29), None),
];

const fn v(name: &'static str, released: NaiveDate, expires: Option<NaiveDate>) -> GraphVersion {
    GraphVersion {
        name,
        released,
        expires,
    }
}

impl GraphVersion {
    /// The major number (`23` for `v23.0`, `2` for `v2.12`).
    pub fn major(&self) -> u32 {
        self.name[1..]
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .unwrap_or(0)
    }

    fn released_by(&self, today: NaiveDate) -> bool {
        self.released <= today
    }

    fn usable_on(&self, today: NaiveDate) -> bool {
        self.released_by(today) && self.expires.is_none_or(|expires| today < expires)
    }
}

/// A version prefix after resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedVersion {
    /// What the path asked for (`None`: an unversioned path).
    pub requested: Option<&'static GraphVersion>,
    /// The version that serves the request (named in the `facebook-api-version` header).
    pub effective: &'static GraphVersion,
}

/// Looks like a version segment (`v` followed by a digit), known or not.
pub fn is_version_like(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.len() >= 2 && bytes[0] == b'v' && bytes[1].is_ascii_digit()
}

/// Resolves a `vNN.0` segment at `now`. A released version is served; an expired one is
/// served by the oldest version still usable (Graph's documented fallback). Unknown or
/// unreleased versions give `None`.
pub fn resolve(segment: &str, now: DateTime<Utc>) -> Option<ResolvedVersion> {
    let today = now.date_naive();
    // Newest first: nearly every request names a recent version.
    let requested = VERSIONS
        .iter()
        .rev()
        .find(|version| version.name == segment && version.released_by(today))?;
    let effective = if requested.usable_on(today) {
        requested
    } else {
        oldest_usable(today).unwrap_or(requested)
    };
    Some(ResolvedVersion {
        requested: Some(requested),
        effective,
    })
}

/// The version serving unversioned paths: the newest released at `now` (an app created
/// today defaults to it).
pub fn default_version(now: DateTime<Utc>) -> ResolvedVersion {
    let today = now.date_naive();
    let effective = VERSIONS
        .iter()
        .rev()
        .find(|version| version.released_by(today))
        .unwrap_or(&VERSIONS[0]);
    ResolvedVersion {
        requested: None,
        effective,
    }
}

fn oldest_usable(today: NaiveDate) -> Option<&'static GraphVersion> {
    VERSIONS.iter().find(|version| version.usable_on(today))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{day}T12:00:00Z"))
            .unwrap()
            .to_utc()
    }

    #[test]
    fn live_versions_serve_themselves() {
        let resolved = resolve("v23.0", at("2026-11-25")).unwrap();
        assert_eq!(resolved.effective.name, "v23.0");
        assert_eq!(
            resolve("v26.0", at("2026-11-25")).unwrap().effective.name,
            "v26.0"
        );
    }

    #[test]
    fn expired_versions_are_served_by_the_oldest_usable_one() {
        // In late 2026 v16.0 to v20.0 have expired; v21.0 is the oldest usable.
        for old in ["v16.0", "v18.0", "v20.0"] {
            let resolved = resolve(old, at("2026-11-25")).unwrap();
            assert_eq!(resolved.requested.unwrap().name, old);
            assert_eq!(resolved.effective.name, "v21.0");
        }
        // On its expiry day v20.0 is already replaced; the day before it is not.
        assert_eq!(
            resolve("v20.0", at("2026-09-23")).unwrap().effective.name,
            "v20.0"
        );
        assert_eq!(
            resolve("v20.0", at("2026-09-24")).unwrap().effective.name,
            "v21.0"
        );
    }

    #[test]
    fn every_real_version_back_to_v2_is_served_by_the_oldest_usable_one() {
        for old in ["v2.0", "v2.12", "v3.3", "v10.0", "v15.0"] {
            let resolved = resolve(old, at("2026-11-25")).unwrap();
            assert_eq!(resolved.requested.unwrap().name, old);
            assert_eq!(resolved.effective.name, "v21.0", "{old}");
        }
        // In its own time a version served itself: v2.11 in late 2018.
        assert_eq!(
            resolve("v2.11", at("2018-12-01")).unwrap().effective.name,
            "v2.11"
        );
        assert_eq!(
            resolve("v2.0", at("2018-12-01")).unwrap().effective.name,
            "v2.8"
        );
    }

    #[test]
    fn the_table_is_in_release_order_and_each_version_outlives_its_release() {
        for pair in VERSIONS.windows(2) {
            assert!(pair[0].released < pair[1].released, "{}", pair[1].name);
            assert!(pair[0].expires.is_some(), "{}", pair[0].name);
        }
        for version in &VERSIONS {
            assert!(version.expires.is_none_or(|end| end > version.released));
        }
    }

    #[test]
    fn unknown_and_unreleased_versions_do_not_resolve() {
        for bad in [
            "v99.0", "v1.0", "v15.1", "v2.13", "v23", "v23.1", "23.0", "latest", "",
        ] {
            assert_eq!(resolve(bad, at("2026-11-25")), None, "{bad}");
        }
        // v26.0 did not exist before its release.
        assert_eq!(resolve("v26.0", at("2026-07-28")), None);
    }

    #[test]
    fn unversioned_paths_use_the_newest_released_version() {
        assert_eq!(default_version(at("2026-11-25")).effective.name, "v26.0");
        assert_eq!(default_version(at("2026-03-01")).effective.name, "v25.0");
    }

    #[test]
    fn majors_parse() {
        assert_eq!(VERSIONS[0].major(), 2);
        assert_eq!(VERSIONS[VERSIONS.len() - 1].major(), 26);
    }
}
