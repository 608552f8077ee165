//! Conditional requests (If-Match, If-None-Match, If-Modified-Since,
//! If-Unmodified-Since and their copy-source forms), as RFC 9110 and S3
//! order them.

use hyper::StatusCode;
use s3s::dto::{ETagCondition, Timestamp};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use crate::info::epoch_secs;

#[derive(Debug, Default, Clone)]
pub(crate) struct Conditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

/// The object as the conditions see it: `None` when there is none.
pub(crate) struct Current<'a> {
    pub etag: &'a str,
    pub mtime_secs: i64,
}

fn matches(c: &ETagCondition, etag: &str) -> bool {
    match c {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag,
    }
}

pub(crate) fn not_modified() -> S3Error {
    let mut e = S3Error::new(S3ErrorCode::NotModified);
    e.set_status_code(StatusCode::NOT_MODIFIED);
    e
}

pub(crate) fn precondition_failed() -> S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// For reads: a failed If-None-Match or If-Modified-Since is "not
    /// modified" (304); a failed If-Match or If-Unmodified-Since is 412.
    pub fn check_read(&self, cur: &Current<'_>) -> S3Result<()> {
        self.check(cur, true)
    }

    /// For copies (the copy-source conditions): every failure is 412.
    pub fn check_source(&self, cur: &Current<'_>) -> S3Result<()> {
        self.check(cur, false)
    }

    fn check(&self, cur: &Current<'_>, read: bool) -> S3Result<()> {
        match &self.if_match {
            Some(c) if !matches(c, cur.etag) => return Err(precondition_failed()),
            Some(_) => {}
            None => {
                if let Some(t) = &self.if_unmodified_since
                    && cur.mtime_secs > epoch_secs(t)
                {
                    return Err(precondition_failed());
                }
            }
        }
        let unchanged = || {
            if read {
                not_modified()
            } else {
                precondition_failed()
            }
        };
        match &self.if_none_match {
            Some(c) if matches(c, cur.etag) => return Err(unchanged()),
            Some(_) => {}
            None => {
                if let Some(t) = &self.if_modified_since
                    && cur.mtime_secs <= epoch_secs(t)
                {
                    return Err(unchanged());
                }
            }
        }
        Ok(())
    }

    /// For writes (PUT, complete): `If-None-Match: *` means "only if there
    /// is no such object", `If-Match` "only if it is this one".
    pub fn check_write(&self, cur: Option<&Current<'_>>) -> S3Result<()> {
        if let Some(c) = &self.if_none_match
            && let Some(cur) = cur
            && matches(c, cur.etag)
        {
            return Err(precondition_failed());
        }
        if let Some(c) = &self.if_match {
            match cur {
                None => return Err(precondition_failed()),
                Some(cur) if !matches(c, cur.etag) => return Err(precondition_failed()),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::ETag;

    fn at(secs: i64) -> Timestamp {
        crate::info::from_epoch_secs(secs).unwrap()
    }

    fn tag(s: &str) -> Option<ETagCondition> {
        Some(ETagCondition::ETag(ETag::Strong(s.into())))
    }

    #[test]
    fn reads_follow_rfc_precedence() {
        let cur = Current {
            etag: "abc",
            mtime_secs: 1000,
        };
        let ok = |c: Conditions| c.check_read(&cur).is_ok();
        let code = |c: Conditions| c.check_read(&cur).unwrap_err().code().clone();
        assert!(ok(Conditions::default()));
        assert!(ok(Conditions {
            if_match: tag("abc"),
            // Ignored when If-Match holds.
            if_unmodified_since: Some(at(10)),
            ..Conditions::default()
        }));
        assert_eq!(
            code(Conditions {
                if_match: tag("zzz"),
                ..Conditions::default()
            }),
            S3ErrorCode::PreconditionFailed
        );
        assert_eq!(
            code(Conditions {
                if_none_match: tag("abc"),
                ..Conditions::default()
            }),
            S3ErrorCode::NotModified
        );
        assert!(ok(Conditions {
            if_none_match: tag("zzz"),
            // Ignored when If-None-Match is given.
            if_modified_since: Some(at(5000)),
            ..Conditions::default()
        }));
        assert_eq!(
            code(Conditions {
                if_modified_since: Some(at(1000)),
                ..Conditions::default()
            }),
            S3ErrorCode::NotModified
        );
        assert!(ok(Conditions {
            if_modified_since: Some(at(999)),
            ..Conditions::default()
        }));
        assert_eq!(
            code(Conditions {
                if_unmodified_since: Some(at(999)),
                ..Conditions::default()
            }),
            S3ErrorCode::PreconditionFailed
        );
    }

    #[test]
    fn writes_only_if_absent_or_matching() {
        let cur = Current {
            etag: "abc",
            mtime_secs: 0,
        };
        let absent = Conditions {
            if_none_match: Some(ETagCondition::Any),
            ..Conditions::default()
        };
        assert!(absent.check_write(None).is_ok());
        assert!(absent.check_write(Some(&cur)).is_err());
        let this = Conditions {
            if_match: tag("abc"),
            ..Conditions::default()
        };
        assert!(this.check_write(Some(&cur)).is_ok());
        assert!(this.check_write(None).is_err());
        let not_this = Conditions {
            if_none_match: tag("abc"),
            ..Conditions::default()
        };
        assert!(not_this.check_write(Some(&cur)).is_err());
        assert!(not_this.check_write(None).is_ok());
        let other = Conditions {
            if_match: tag("x"),
            ..Conditions::default()
        };
        assert!(other.check_write(Some(&cur)).is_err());
    }
}
