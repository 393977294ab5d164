//! Errors of the qdev and hot-plug paths, worded like QEMU's.

/// Why a qdev operation (`device_add`, `device_del`, realize, attaching to a bus) failed.
///
/// ```
/// use qdev_demo::qdev::error::QdevError;
/// let e = QdevError::DuplicateId("disk0".into());
/// assert_eq!(e.to_string(), "Duplicate ID 'disk0' for device");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QdevError {
    /// `driver` names no device type this machine knows.
    UnknownDriver(String),
    /// A property is missing.
    MissingProperty(&'static str),
    /// A property has a value of the wrong form, or is unknown.
    BadProperty {
        /// Property name.
        name: String,
        /// Offending value.
        value: String,
    },
    /// Another device already has this id.
    DuplicateId(String),
    /// No drive of that name exists.
    DriveNotFound(String),
    /// The drive is still attached to a device (maybe one waiting for its grace period).
    DriveInUse(String),
    /// No bus of that name, or no bus of the right type.
    BusNotFound(String),
    /// The bus's `check_address` hook, or address allocation, refused the device (the bus
    /// class's message, e.g. `lun already used by 'disk1'`).
    Address(String),
    /// Realize failed (the device was already on the bus and has been unplugged again).
    Realize(String),
    /// `device_del` of an id no device has.
    DeviceNotFound(String),
    /// `device_del` of a device on a bus without hot-plug support.
    NotHotpluggable(String),
}

impl std::fmt::Display for QdevError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownDriver(d) => write!(f, "'{d}' is not a valid device model name"),
            Self::MissingProperty(p) => write!(f, "Parameter '{p}' is missing"),
            Self::BadProperty { name, value } => {
                write!(f, "Property '{name}' does not accept value '{value}'")
            }
            Self::DuplicateId(id) => write!(f, "Duplicate ID '{id}' for device"),
            Self::DriveNotFound(d) => write!(f, "Drive '{d}' not found"),
            Self::DriveInUse(d) => write!(f, "Drive '{d}' is already in use"),
            Self::BusNotFound(b) => write!(f, "Bus '{b}' not found"),
            Self::Address(msg) => f.write_str(msg),
            Self::Realize(msg) => f.write_str(msg),
            Self::DeviceNotFound(id) => write!(f, "Device '{id}' not found"),
            Self::NotHotpluggable(bus) => write!(f, "Bus '{bus}' does not support hotplugging"),
        }
    }
}

impl std::error::Error for QdevError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            QdevError::DriveInUse("d0".into()).to_string(),
            "Drive 'd0' is already in use"
        );
        assert_eq!(
            QdevError::Address("no free target".into()).to_string(),
            "no free target"
        );
        assert!(
            QdevError::NotHotpluggable("x".into())
                .to_string()
                .contains("does not support")
        );
        assert!(
            QdevError::MissingProperty("drive")
                .to_string()
                .contains("'drive'")
        );
        assert!(
            QdevError::UnknownDriver("foo".into())
                .to_string()
                .contains("foo")
        );
        let bad = QdevError::BadProperty {
            name: "lun".into(),
            value: "x".into(),
        };
        assert_eq!(bad.to_string(), "Property 'lun' does not accept value 'x'");
        for e in [
            QdevError::DriveNotFound("a".into()),
            QdevError::BusNotFound("b".into()),
            QdevError::Realize("c".into()),
            QdevError::DeviceNotFound("d".into()),
        ] {
            assert!(!e.to_string().is_empty());
        }
    }
}
