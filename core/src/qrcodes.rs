//! What the system's own QR codes say, and how a scanned text is read back.
//!
//! Two kinds of code are printed by the server and scanned by the app:
//! - the **door plate** (户码) on a household's door: it names the household, so a grid
//!   worker who scans it lands in that household's file. Plates printed before Yijian carry
//!   only the door-plate number, so a text that is not ours is looked up as a door plate;
//! - the **device setup** code the console shows for a worker: it carries the server's address
//!   and the worker's login, never a password, so a lost printout gives nobody access.
//!
//! Both are plain text with a fixed prefix, short enough to scan from a worn label at arm's
//! length (a door-plate code is 47 characters: a version-3 QR code at medium error correction).

use serde::{Deserialize, Serialize};

use crate::ids::HouseholdId;
use crate::validation::MobileNumber;

/// Prefix of a door-plate code: `YJHH1:<household id>`.
pub const DOOR_PLATE_PREFIX: &str = "YJHH1:";

/// Prefix of a device-setup code: `YJSETUP1:{"server":…,"login":…}`.
pub const DEVICE_SETUP_PREFIX: &str = "YJSETUP1:";

/// The text printed in a household's door-plate QR code.
pub fn door_plate_text(household: HouseholdId) -> String {
    format!("{DOOR_PLATE_PREFIX}{household}")
}

/// What a scanned door plate points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DoorPlateRef {
    /// One of our codes: the household by id.
    Household { household_id: HouseholdId },
    /// Any other text: a door-plate number to look up (older plates).
    DoorPlate { number: String },
}

/// Why a scanned text cannot be a door plate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("二维码内容为空")]
    Empty,
    #[error("这是一张本系统的户码，但编号已损坏，请换一张或手工查找")]
    DamagedDoorPlate,
    #[error("这不是设备登录二维码")]
    NotDeviceSetup,
    #[error("设备登录二维码内容有误：{0}")]
    BadDeviceSetup(String),
    #[error("这是设备登录二维码，请在登录页扫描")]
    DeviceSetupNotDoorPlate,
}

/// Read a scanned text as a door plate.
pub fn parse_door_plate(text: &str) -> Result<DoorPlateRef, ScanError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ScanError::Empty);
    }
    if text.starts_with(DEVICE_SETUP_PREFIX) {
        return Err(ScanError::DeviceSetupNotDoorPlate);
    }
    if let Some(id) = text.strip_prefix(DOOR_PLATE_PREFIX) {
        return HouseholdId::parse(id)
            .map(|household_id| DoorPlateRef::Household { household_id })
            .map_err(|_| ScanError::DamagedDoorPlate);
    }
    Ok(DoorPlateRef::DoorPlate {
        number: text.to_owned(),
    })
}

/// The content of a device-setup code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSetup {
    /// The sync server, e.g. `http://10.0.0.5:8080`.
    pub server: String,
    /// The worker's login (mobile number).
    pub login: String,
}

impl DeviceSetup {
    /// The text to put in the QR code.
    pub fn to_text(&self) -> String {
        // Serialising two strings cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{DEVICE_SETUP_PREFIX}{json}")
    }

    /// Read a scanned device-setup code.
    pub fn parse(text: &str) -> Result<DeviceSetup, ScanError> {
        let json = text
            .trim()
            .strip_prefix(DEVICE_SETUP_PREFIX)
            .ok_or(ScanError::NotDeviceSetup)?;
        let setup: DeviceSetup =
            serde_json::from_str(json).map_err(|e| ScanError::BadDeviceSetup(e.to_string()))?;
        let server = setup.server.trim().trim_end_matches('/').to_owned();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(ScanError::BadDeviceSetup(format!(
                "服务器地址应以 http:// 或 https:// 开头：{server}"
            )));
        }
        let login = MobileNumber::parse(&setup.login)
            .map_err(|e| ScanError::BadDeviceSetup(e.to_string()))?;
        Ok(DeviceSetup {
            server,
            login: login.as_str().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn door_plates_round_trip_and_fall_back_to_numbers() {
        let id = HouseholdId::from_parts(1_735_689_600_000, 9);
        let text = door_plate_text(id);
        assert!(text.len() <= 47, "{text}");
        assert_eq!(
            parse_door_plate(&format!("  {text}\n")),
            Ok(DoorPlateRef::Household { household_id: id })
        );
        assert_eq!(
            parse_door_plate("621102105201-007"),
            Ok(DoorPlateRef::DoorPlate {
                number: "621102105201-007".into()
            })
        );
        assert_eq!(
            parse_door_plate("YJHH1:not-an-id"),
            Err(ScanError::DamagedDoorPlate)
        );
        assert_eq!(parse_door_plate("  "), Err(ScanError::Empty));
        let setup = DeviceSetup {
            server: "http://127.0.0.1:8080".into(),
            login: "13800000001".into(),
        };
        assert_eq!(
            parse_door_plate(&setup.to_text()),
            Err(ScanError::DeviceSetupNotDoorPlate)
        );
    }

    #[test]
    fn device_setup_codes_carry_server_and_login_only() {
        let setup = DeviceSetup {
            server: "http://10.0.0.5:8080/".into(),
            login: "138 0000 0001".into(),
        };
        let text = setup.to_text();
        assert!(!text.contains("password"));
        let back = DeviceSetup::parse(&text).expect("parse");
        assert_eq!(back.server, "http://10.0.0.5:8080");
        assert_eq!(back.login, "13800000001");
        assert_eq!(DeviceSetup::parse("hello"), Err(ScanError::NotDeviceSetup));
        assert!(matches!(
            DeviceSetup::parse(r#"YJSETUP1:{"server":"ftp://x","login":"13800000001"}"#),
            Err(ScanError::BadDeviceSetup(_))
        ));
        assert!(matches!(
            DeviceSetup::parse(r#"YJSETUP1:{"server":"http://x","login":"12"}"#),
            Err(ScanError::BadDeviceSetup(_))
        ));
    }
}
