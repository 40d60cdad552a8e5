//! Tests of this module's rules.

use super::*;
use yijian_core::division::DivisionCode;

#[test]
fn receipt_numbers_are_readable() {
    let v = DivisionCode::parse("621102105201").expect("code");
    assert_eq!(receipt_number(&v, 7), "621102-105-201-0007");
    assert_eq!(receipt_number(&v, 12345), "621102-105-201-12345");
}
