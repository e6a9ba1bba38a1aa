//! The emulated Android device of one Instagram login (PROTOCOL A.6), derived
//! deterministically from the bridge's `device_seed` and the Matrix user id so that a re-login
//! never looks like a new phone.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::config::HttpConfig;

/// Device descriptors (`{sdk}/{release}; {dpi}; {W}x{H}; {manufacturer}; {model}; {device}; {cpu}`).
const DESCRIPTORS: &[&str] = &[
    "33/13; 420dpi; 1080x2219; Google/google; Pixel 6; oriole; oriole",
    "34/14; 480dpi; 1344x2992; Google/google; Pixel 8 Pro; husky; husky",
    "33/13; 440dpi; 1080x2340; Google/google; Pixel 7; panther; panther",
    "33/13; 450dpi; 1080x2340; samsung; SM-S911B; dm1q; qcom",
    "34/14; 480dpi; 1080x2340; samsung; SM-A546B; a54x; s5e8835",
    "31/12; 420dpi; 1080x2400; OnePlus; LE2123; OnePlus9Pro; qcom",
];

/// The identifiers of one emulated phone. Persisted with the session; never rotated.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// UUID4, `X-IG-Device-ID`, `guid`, `_uuid`.
    pub uuid: String,
    /// UUID4, login `phone_id`, `jazoest`, MQTT client id.
    pub phone_id: String,
    /// `android-` + 16 hex, `X-IG-Android-ID`, form `device_id`.
    pub android_id: String,
    /// UUID4 advertising id.
    pub adid: String,
    /// UUID4 family device id, `X-IG-Family-Device-ID` (M's choice).
    pub fdid: String,
    /// Middle part of the User-Agent.
    pub descriptor: String,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Device ids are not credentials, but keep logs short.
        f.debug_struct("Device")
            .field("uuid", &self.uuid)
            .field("android_id", &self.android_id)
            .field("descriptor", &self.descriptor)
            .finish_non_exhaustive()
    }
}

fn derive(seed: &[u8], user: &str, label: &str) -> [u8; 32] {
    // HMAC accepts keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(seed) else {
        unreachable_hmac()
    };
    mac.update(user.as_bytes());
    mac.update(b"\0");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA256 accepts keys of any length")
}

fn uuid_from(bytes: &[u8; 32]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

impl Device {
    /// Derives the device of `matrix_user_id` from the bridge's secret `seed`.
    pub fn derive(seed: &[u8], matrix_user_id: &str) -> Device {
        let d = |label| derive(seed, matrix_user_id, label);
        let android = d("android_id");
        let descriptor_pick = d("descriptor");
        Device {
            uuid: uuid_from(&d("uuid")),
            phone_id: uuid_from(&d("phone_id")),
            android_id: format!("android-{}", hex::encode(&android[..8])),
            adid: uuid_from(&d("adid")),
            fdid: uuid_from(&d("fdid")),
            descriptor: DESCRIPTORS[descriptor_pick[0] as usize % DESCRIPTORS.len()].to_owned(),
        }
    }

    /// The full User-Agent (PROTOCOL A.2).
    pub fn user_agent(&self, cfg: &HttpConfig) -> String {
        format!(
            "Instagram {} Android ({}; {}; {})",
            cfg.version.app_version, self.descriptor, cfg.locale, cfg.version.version_code
        )
    }

    /// `jazoest` = "2" + sum of the code points of `phone_id`.
    pub fn jazoest(&self) -> String {
        let sum: u32 = self.phone_id.chars().map(u32::from).sum();
        format!("2{sum}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_well_formed() {
        let a = Device::derive(b"seed", "@alice:example.org");
        let b = Device::derive(b"seed", "@alice:example.org");
        let c = Device::derive(b"seed", "@bob:example.org");
        let d = Device::derive(b"other", "@alice:example.org");
        assert_eq!(a, b);
        assert_ne!(a.uuid, c.uuid);
        assert_ne!(a.uuid, d.uuid);
        let ids = [&a.uuid, &a.phone_id, &a.adid, &a.fdid];
        for id in ids {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 4);
        }
        assert_ne!(a.uuid, a.phone_id);
        assert!(a.android_id.starts_with("android-"));
        assert_eq!(a.android_id.len(), 24);
        assert!(
            a.android_id[8..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let ua = a.user_agent(&HttpConfig::default());
        assert!(ua.starts_with("Instagram 256.0.0.18.105 Android ("), "{ua}");
        assert!(ua.ends_with("; en_US; 407842973)"));
    }

    #[test]
    fn jazoest_matches_reference() {
        let mut d = Device::derive(b"s", "@a:b");
        d.phone_id = "abc".into();
        assert_eq!(d.jazoest(), "2294");
    }
}
