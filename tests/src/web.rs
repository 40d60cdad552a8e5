//! A browser without JavaScript for tests of the server's pages over real HTTP: keeps cookies,
//! does not follow redirects, signs in to the console.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};

/// A browser without JavaScript: keeps cookies, does not follow redirects.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    /// Sent as `X-Forwarded-For`: the address a server behind a proxy sees.
    pub forwarded_for: Option<String>,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: String,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Browser {
    pub fn new(base: &str) -> Result<Browser> {
        Ok(Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            forwarded_for: None,
        })
    }

    /// A browser that trusts the certificate authority `ca_pem` (a test's nginx).
    pub fn trusting(base: &str, ca_pem: &str) -> Result<Browser> {
        Ok(Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?)
                .build()?,
            ..Browser::new(base)?
        })
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Result<Page> {
        let req = match &self.forwarded_for {
            Some(ip) => req.header("x-forwarded-for", ip.as_str()),
            None => req,
        };
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let resp = req.send().await?;
        for v in resp.headers().get_all("set-cookie") {
            let text = v.to_str()?;
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.bytes().await?.to_vec();
        Ok(Page {
            status,
            location,
            content_type,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<Page> {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Page> {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    pub async fn post_multipart(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Page> {
        let mut mp = reqwest::multipart::Form::new();
        for (k, v) in form {
            mp = mp.text((*k).to_owned(), (*v).to_owned());
        }
        let req = self.http.post(format!("{}{path}", self.base)).multipart(mp);
        self.send(req).await
    }

    /// A multipart form with one file `(field, file name, bytes)`.
    pub async fn post_file(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        (field, name, bytes): (&str, &str, &[u8]),
    ) -> Result<Page> {
        let mut mp = reqwest::multipart::Form::new();
        for (k, v) in form {
            mp = mp.text((*k).to_owned(), (*v).to_owned());
        }
        mp = mp.part(
            field.to_owned(),
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
        let req = self.http.post(format!("{}{path}", self.base)).multipart(mp);
        self.send(req).await
    }

    pub async fn sign_in(&mut self, login: &str) -> Result<()> {
        self.sign_in_with(login, "yijian2026").await
    }

    /// Sign in to the console with `password`; an error unless the console lets the user in.
    pub async fn sign_in_with(&mut self, login: &str, password: &str) -> Result<()> {
        let form = self.get("/console/login").await?;
        let t = input_value(&form.body, "t").context("login token")?;
        let p = self
            .post(
                "/console/login",
                &[
                    ("login", login),
                    ("password", password),
                    ("next", "/console"),
                    ("t", &t),
                ],
            )
            .await?;
        if p.status != 303 {
            bail!("sign-in of {login}: {} {}", p.status, p.body);
        }
        Ok(())
    }
}

/// The value of `<input name="NAME" value="…">` in a page.
pub fn input_value(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &body[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}
