//! The unit tests of `error.rs`, in their own file so that the error type reads top to bottom.

use super::*;

#[test]
fn context_keeps_a_4xx_and_wraps_anything_else_with_its_cause() {
    let refused: std::result::Result<(), Error> = Err(Error::validation("title", "too long"));
    assert!(matches!(
        refused.context("creating a group"),
        Err(Error::Validation { field: "title", .. })
    ));

    let io: std::result::Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
    let err = io.context("staging an upload").unwrap_err();
    assert_eq!(err.code(), Code::InternalError);
    assert_eq!(Chain(&err).to_string(), "staging an upload: disk full");
}

#[test]
fn internal_causes_reach_the_log_but_not_the_client() {
    let err = Error::internal("a message insert matched nothing");
    let body = err.answer();
    assert_eq!(
        (body.error.as_str(), body.message.as_str()),
        ("internal_error", "Internal server error.")
    );
}

#[test]
fn invalid_domain_values_are_validation_errors_naming_the_field() {
    let err = Error::from(crate::domain::Name::parse("").unwrap_err());
    let body = err.answer();
    assert_eq!(
        (body.error.as_str(), body.field.as_deref()),
        ("validation_error", Some("name"))
    );
}
