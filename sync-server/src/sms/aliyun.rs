//! Aliyun SMS (阿里云短信服务): `SendSms` to send, `QuerySendDetails` to find out what became of
//! a send whose answer was lost.
//!
//! Both are RPC-style calls signed as Aliyun documents (签名机制, SignatureVersion 1.0): the
//! request parameters, `Signature` excepted, are sorted by name, each name and value
//! percent-encoded per RFC 3986 (only `A–Z a–z 0–9 - _ . ~` stay as they are; a space is
//! `%20`), joined as `name=value` with `&` into the canonicalized query string; the string to
//! sign is `GET&%2F&` followed by that string percent-encoded once more; the signature is the
//! Base64 of its HMAC-SHA1 under the key `AccessKeySecret + "&"`. Every request carries a fresh
//! `SignatureNonce` and a UTC `Timestamp`, so a replayed request is refused by Aliyun.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;

use super::{SmsError, SmsProvider, Template};
use crate::store::rows::NewSms;

/// Aliyun's public endpoint of the SMS API.
pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";

/// How to reach Aliyun and which templates to use.
#[derive(Clone)]
pub struct AliyunConfig {
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    /// 短信签名 (the sender name shown as 【…】), registered with Aliyun.
    pub sign_name: String,
    pub region_id: String,
    /// Template key (`receipt`, …) → Aliyun's TemplateCode (`SMS_123456789`).
    pub templates: HashMap<String, String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for AliyunConfig {
    /// The secret never appears in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunConfig")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"***")
            .field("sign_name", &self.sign_name)
            .field("region_id", &self.region_id)
            .field("templates", &self.templates)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// RFC 3986 percent-encoding as Aliyun's signature requires it.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonicalized query string of `params` (which must not contain `Signature`).
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The signature of a GET request with these parameters.
pub fn sign(params: &BTreeMap<String, String>, access_key_secret: &str) -> String {
    let string_to_sign = format!(
        "GET&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha1>::new_from_slice(format!("{access_key_secret}&").as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The common parameters of a call, at `now`, with a fresh nonce.
fn common(config: &AliyunConfig, action: &str, now: DateTime<Utc>) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("AccessKeyId".into(), config.access_key_id.clone());
    p.insert("Action".into(), action.into());
    p.insert("Format".into(), "JSON".into());
    p.insert("RegionId".into(), config.region_id.clone());
    p.insert("SignatureMethod".into(), "HMAC-SHA1".into());
    p.insert("SignatureNonce".into(), uuid::Uuid::now_v7().to_string());
    p.insert("SignatureVersion".into(), "1.0".into());
    p.insert(
        "Timestamp".into(),
        now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    p.insert("Version".into(), "2017-05-25".into());
    p
}

/// The URL of a signed GET request.
pub fn signed_url(endpoint: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let signature = sign(params, secret);
    format!(
        "{}/?Signature={}&{}",
        endpoint.trim_end_matches('/'),
        percent_encode(&signature),
        canonical_query(params)
    )
}

/// Aliyun's answer to SendSms.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendResponse {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    biz_id: Option<String>,
}

/// Aliyun's answer to QuerySendDetails.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryResponse {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    total_count: u64,
    #[serde(default, rename = "SmsSendDetailDTOs")]
    details: Option<Details>,
}

#[derive(Debug, Default, Deserialize)]
struct Details {
    #[serde(default, rename = "SmsSendDetailDTO")]
    list: Vec<Detail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Detail {
    #[serde(default)]
    out_id: Option<String>,
    /// 1 waiting for the receipt, 2 failed, 3 delivered.
    #[serde(default)]
    send_status: Option<i64>,
}

/// Error codes that mean "try again later"; every other code is a refusal.
fn transient_code(code: &str) -> bool {
    code.starts_with("isp.")
        || matches!(
            code,
            "isv.BUSINESS_LIMIT_CONTROL" | "Throttling" | "Throttling.User" | "ServiceUnavailable"
        )
}

/// Sends through Aliyun.
#[derive(Debug, Clone)]
pub struct AliyunSms {
    config: AliyunConfig,
    http: reqwest::Client,
}

impl AliyunSms {
    pub fn new(config: AliyunConfig) -> Result<AliyunSms, String> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(AliyunSms { config, http })
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        params: &BTreeMap<String, String>,
        sending: bool,
    ) -> Result<T, SmsError> {
        let url = signed_url(
            &self.config.endpoint,
            params,
            &self.config.access_key_secret,
        );
        let resp = self.http.get(url).send().await.map_err(|e| {
            // A timeout after the request left may still have sent the text.
            if e.is_timeout() && !e.is_connect() && sending {
                SmsError::MaybeSent(e.to_string())
            } else {
                SmsError::Transient(e.to_string())
            }
        })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| {
            if sending {
                SmsError::MaybeSent(e.to_string())
            } else {
                SmsError::Transient(e.to_string())
            }
        })?;
        if status.is_server_error() {
            return Err(SmsError::Transient(format!("HTTP {status}: {body}")));
        }
        serde_json::from_str(&body).map_err(|e| {
            if status.is_success() {
                SmsError::Transient(format!("unreadable answer ({e}): {body}"))
            } else {
                SmsError::Permanent(format!("HTTP {status}: {body}"))
            }
        })
    }
}

#[async_trait::async_trait]
impl SmsProvider for AliyunSms {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    async fn send(&self, sms: &NewSms) -> Result<Option<String>, SmsError> {
        let template = Template::from_key(&sms.template)
            .and_then(|t| self.config.templates.get(t.key()))
            .ok_or_else(|| {
                SmsError::Permanent(format!(
                    "no Aliyun template configured for {}",
                    sms.template
                ))
            })?;
        let mut p = common(&self.config, "SendSms", Utc::now());
        p.insert("PhoneNumbers".into(), sms.phone.clone());
        p.insert("SignName".into(), self.config.sign_name.clone());
        p.insert("TemplateCode".into(), template.clone());
        p.insert("TemplateParam".into(), sms.params.to_string());
        p.insert("OutId".into(), sms.out_id.clone());
        let r: SendResponse = self.call(&p, true).await?;
        match r.code.as_str() {
            "OK" => Ok(r.biz_id),
            code if transient_code(code) => {
                Err(SmsError::Transient(format!("{code}: {}", r.message)))
            }
            code => Err(SmsError::Permanent(format!("{code}: {}", r.message))),
        }
    }

    async fn was_sent(&self, sms: &NewSms) -> Result<bool, SmsError> {
        // Aliyun lists the texts of one number on one (Beijing) day, page by page.
        let day = sms
            .created_at
            .with_timezone(&yijian_core::time::shanghai())
            .format("%Y%m%d")
            .to_string();
        let mut page = 1u64;
        loop {
            let mut p = common(&self.config, "QuerySendDetails", Utc::now());
            p.insert("PhoneNumber".into(), sms.phone.clone());
            p.insert("SendDate".into(), day.clone());
            p.insert("PageSize".into(), "50".into());
            p.insert("CurrentPage".into(), page.to_string());
            let r: QueryResponse = self.call(&p, false).await?;
            if r.code != "OK" {
                return Err(if transient_code(&r.code) {
                    SmsError::Transient(format!("{}: {}", r.code, r.message))
                } else {
                    SmsError::Permanent(format!("{}: {}", r.code, r.message))
                });
            }
            let list = r.details.unwrap_or_default().list;
            if list
                .iter()
                .any(|d| d.out_id.as_deref() == Some(&sms.out_id) && d.send_status != Some(2))
            {
                return Ok(true);
            }
            if list.is_empty() || page * 50 >= r.total_count {
                return Ok(false);
            }
            page += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Aliyun's SMS signature documentation (短信服务 签名机制): these
    /// parameters, signed with the AccessKeySecret `testSecret`, give this signature.
    #[test]
    fn the_documented_example_signs_to_the_documented_signature() {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", "{\"customer\":\"test\"}"),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(sign(&params, "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
        let url = signed_url("http://dysmsapi.aliyuncs.com", &params, "testSecret");
        assert!(
            url.starts_with("http://dysmsapi.aliyuncs.com/?Signature=zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D&AccessKeyId=testId"),
            "{url}"
        );
    }

    #[test]
    fn percent_encoding_keeps_only_the_unreserved_characters() {
        assert_eq!(percent_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(percent_encode("a b*+/"), "a%20b%2A%2B%2F");
        assert_eq!(percent_encode("短"), "%E7%9F%AD");
        assert_eq!(
            canonical_query(&BTreeMap::from([
                ("b".to_owned(), "2 2".to_owned()),
                ("a".to_owned(), "1".to_owned())
            ])),
            "a=1&b=2%202"
        );
    }
}
