//! Network helpers: free ports, a TCP proxy a test can cut, stub upstreams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Copies `from` to `to`, holding the bytes read while `stalled` is true.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stalled.wait_for(|s| !*s).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A port nobody listens on right now (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// Serves `router` on an ephemeral port; returns its base URL. Used to stand
/// in for an upstream service in client tests.
pub async fn spawn_stub(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
    let addr = listener.local_addr().expect("stub address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A TCP proxy in front of a real server. [`TcpProxy::sever`] drops every
/// connection and refuses new ones — the dependency is "down" for whoever
/// connects through the proxy, while the real server keeps running for
/// everyone else. [`TcpProxy::restore`] lets connections through again.
/// [`TcpProxy::stall`] keeps connections open but holds every byte until
/// [`TcpProxy::unstall`]: a link that is slow or late, not broken.
pub struct TcpProxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    stalled: watch::Sender<bool>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let (stalled, _) = watch::channel(false);
        let accept_up = up.clone();
        let accept_gen = generation.clone();
        let accept_stalled = stalled.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = accept_gen.subscribe();
                let stalled = accept_stalled.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    tokio::select! {
                        _ = pump(in_read, out_write, stalled.subscribe()) => {}
                        _ = pump(out_read, in_write, stalled.subscribe()) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        TcpProxy {
            addr,
            up,
            generation,
            stalled,
        }
    }

    /// Holds every byte in both directions (connections stay open).
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Delivers what was held and lets bytes through again.
    pub fn unstall(&self) {
        self.stalled.send_replace(false);
    }

    /// Drops open connections and refuses new ones.
    pub fn sever(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
