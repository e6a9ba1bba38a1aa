//! A TCP proxy between the bridge and Synapse that the test can cut: while cut it closes every
//! relayed connection and every new one at once, so the homeserver is unreachable for the
//! bridge (and only for it: the test's Matrix users talk to Synapse directly).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Proxy {
    pub addr: SocketAddr,
    cut: watch::Sender<bool>,
    refused: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and relays to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (cut, cut_rx) = watch::channel(false);
        let refused = Arc::new(AtomicUsize::new(0));
        let count = refused.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *cut_rx.borrow() {
                    count.fetch_add(1, Ordering::SeqCst);
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, upstream, cut_rx.clone()));
            }
        });
        Proxy {
            addr,
            cut,
            refused,
            task,
        }
    }

    /// The homeserver becomes unreachable: open connections are closed, new ones too.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// The homeserver is reachable again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }

    /// Connections closed at once because the proxy was cut.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
