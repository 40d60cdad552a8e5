//! A TCP proxy the tests own: counts every byte both ways and, when told to, cuts connections
//! at seeded random byte offsets.
//!
//! Cutting a connection in the middle of a request or a response is what a phone on a
//! mountain road experiences; doing it at random but reproducible offsets (a seed per run,
//! printed on failure) is how the fault tests show that no cut loses, duplicates or wedges
//! anything. The byte counters give the benchmark its "bytes on the wire".

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A small deterministic generator (SplitMix64): enough for choosing cut points and for drawing
/// the field photos (`field_qr`), and it keeps the tests free of a random-number dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Counters of what went through.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub connections: AtomicU64,
    pub cuts: AtomicU64,
    /// Client → server.
    pub bytes_up: AtomicU64,
    /// Server → client.
    pub bytes_down: AtomicU64,
}

impl ProxyStats {
    pub fn total_bytes(&self) -> u64 {
        self.bytes_up.load(Ordering::Relaxed) + self.bytes_down.load(Ordering::Relaxed)
    }

    pub fn reset_bytes(&self) {
        self.bytes_up.store(0, Ordering::Relaxed);
        self.bytes_down.store(0, Ordering::Relaxed);
    }
}

/// How the proxy misbehaves.
#[derive(Debug)]
pub struct FaultPlan {
    /// Cut this many out of every 1000 connections.
    pub cut_per_mille: AtomicU64,
    /// Cut points are drawn below this many bytes into the chosen direction.
    pub max_cut_offset: AtomicU64,
    pub seed: u64,
    /// While false, no connection is accepted through (a dead link): connects are reset.
    pub link_up: AtomicBool,
}

/// A running proxy from `addr` to an upstream address.
#[derive(Debug)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    pub stats: Arc<ProxyStats>,
    pub plan: Arc<FaultPlan>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Start a proxy to `upstream` on a free loopback port; it forwards faithfully until told
    /// otherwise.
    pub async fn start(upstream: SocketAddr, seed: u64) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(ProxyStats::default());
        let plan = Arc::new(FaultPlan {
            cut_per_mille: AtomicU64::new(0),
            max_cut_offset: AtomicU64::new(64 * 1024),
            seed,
            link_up: AtomicBool::new(true),
        });
        let (s, p) = (Arc::clone(&stats), Arc::clone(&plan));
        let task = tokio::spawn(async move {
            let mut n: u64 = 0;
            while let Ok((client, _)) = listener.accept().await {
                n += 1;
                s.connections.fetch_add(1, Ordering::Relaxed);
                if !p.link_up.load(Ordering::Relaxed) {
                    drop(client);
                    continue;
                }
                let mut rng = SplitMix64::new(p.seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D));
                let cut = (rng.below(1000) < p.cut_per_mille.load(Ordering::Relaxed)).then(|| {
                    let upward = rng.below(2) == 0;
                    let at = rng.below(p.max_cut_offset.load(Ordering::Relaxed));
                    (upward, at)
                });
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        // Forward each piece at once, as a router would; Nagle's algorithm
                        // here would add delayed-ACK stalls the real link does not have.
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        relay(client, server, cut, s).await;
                    }
                });
            }
        });
        Ok(FaultProxy {
            addr,
            stats,
            plan,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cut `per_mille` of new connections at offsets below `max_offset` bytes.
    pub fn set_cuts(&self, per_mille: u64, max_offset: u64) {
        self.plan.cut_per_mille.store(per_mille, Ordering::Relaxed);
        self.plan
            .max_cut_offset
            .store(max_offset.max(1), Ordering::Relaxed);
    }

    /// Drop every new connection (no signal) or let them through again.
    pub fn set_link(&self, up: bool) {
        self.plan.link_up.store(up, Ordering::Relaxed);
    }

    pub fn cuts(&self) -> u64 {
        self.stats.cuts.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copy both ways; with `cut = Some((upward, at))`, close both sockets once `at` bytes went
/// in that direction (forwarding exactly `at` bytes of it).
async fn relay(
    client: TcpStream,
    server: TcpStream,
    cut: Option<(bool, u64)>,
    stats: Arc<ProxyStats>,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up_limit = cut.and_then(|(up, at)| up.then_some(at));
    let down_limit = cut.and_then(|(up, at)| (!up).then_some(at));
    let up_stats = Arc::clone(&stats);
    let up = async move {
        let r = pump(&mut cr, &mut sw, up_limit, &up_stats.bytes_up).await;
        let _ = sw.shutdown().await;
        r
    };
    let down_stats = Arc::clone(&stats);
    let down = async move {
        let r = pump(&mut sr, &mut cw, down_limit, &down_stats.bytes_down).await;
        let _ = cw.shutdown().await;
        r
    };
    // When one side is cut, stop both at once: the connection is gone, not half-closed.
    let cut_happened = tokio::select! {
        r = up => r,
        r = down => r,
    };
    if cut_happened {
        stats.cuts.fetch_add(1, Ordering::Relaxed);
    }
}

/// Forward until EOF (returns false) or until `limit` bytes were forwarded (returns true).
async fn pump<R, W>(r: &mut R, w: &mut W, limit: Option<u64>, counter: &AtomicU64) -> bool
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    let mut sent: u64 = 0;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let mut n = n as u64;
        let mut cut = false;
        if let Some(limit) = limit
            && sent + n >= limit
        {
            n = limit - sent;
            cut = true;
        }
        if n > 0 && w.write_all(&buf[..n as usize]).await.is_err() {
            return false;
        }
        sent += n;
        counter.fetch_add(n, Ordering::Relaxed);
        if cut {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert!((0..1000).all(|_| a.below(10) < 10));
    }

    #[tokio::test]
    async fn forwards_counts_and_cuts() {
        // An echo server upstream.
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let echo_addr = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = FaultProxy::start(echo_addr, 1).await.expect("proxy");
        let mut c = TcpStream::connect(proxy.addr).await.expect("connect");
        c.write_all(b"hello").await.expect("write");
        let mut got = [0u8; 5];
        c.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello");
        drop(c);
        // Every connection cut within its first 3 bytes: a 10-byte exchange never completes.
        proxy.set_cuts(1000, 3);
        let mut c = TcpStream::connect(proxy.addr).await.expect("connect");
        let _ = c.write_all(b"0123456789").await;
        let mut all = Vec::new();
        let _ = c.read_to_end(&mut all).await;
        assert!(
            all.len() < 10,
            "cut connection delivered {} bytes",
            all.len()
        );
        assert!(proxy.stats.bytes_up.load(Ordering::Relaxed) >= 5);
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while proxy.cuts() == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("cut counted");
    }
}
