//! Tests of this module's rules.

use super::*;

#[test]
fn phones_in_the_log_are_masked() {
    assert_eq!(masked_phone("13812345678"), "138****5678");
    assert_eq!(masked_phone("0932-1234567"), "0932-1234567");
}
