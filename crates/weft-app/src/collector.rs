//! The collector role: the OTLP (gRPC and HTTP) and Zipkin receivers, which validate what
//! clients send and append it to the bus before acknowledging it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;
use weft_bus::BusWriter;
use weft_ingest::{
    HttpReceiver, Ingestor, OtlpGrpcReceiver, OtlpHttpReceiver, Receiver, ZipkinReceiver,
};
use weft_observe::ComponentMetricFamilies;

use crate::servers::Servers;
use crate::ServeConfig;

/// Where each receiver listens (the bound ports, when the configuration asked for port 0).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CollectorAddresses {
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub zipkin: SocketAddr,
}

pub(crate) struct CollectorRole {
    pub addresses: CollectorAddresses,
    otlp_grpc: OtlpGrpcReceiver,
    otlp_http: HttpReceiver,
    zipkin: HttpReceiver,
}

impl CollectorRole {
    /// Binds every receiver; they take requests once [`CollectorRole::serve`] runs them.
    pub(crate) async fn bind(
        config: &ServeConfig,
        bus: Arc<dyn BusWriter>,
        registry: &mut Registry,
        families: ComponentMetricFamilies,
    ) -> anyhow::Result<Self> {
        let receivers = &config.receivers;
        let ingestor = Ingestor::new(
            bus,
            receivers.ingest_config(config.store.retention)?,
            registry,
            families,
        );
        let otlp_grpc = OtlpGrpcReceiver::bind(
            receivers.otlp_grpc_listen,
            ingestor.clone(),
            receivers.grpc_max_connection_age,
        )
        .await
        .with_context(|| format!("binding otlp grpc on {}", receivers.otlp_grpc_listen))?;
        let otlp_http = OtlpHttpReceiver::bind(receivers.otlp_http_listen, ingestor.clone())
            .await
            .with_context(|| format!("binding otlp http on {}", receivers.otlp_http_listen))?;
        let zipkin = ZipkinReceiver::bind(receivers.zipkin_listen, ingestor)
            .await
            .with_context(|| format!("binding zipkin on {}", receivers.zipkin_listen))?;
        Ok(CollectorRole {
            addresses: CollectorAddresses {
                otlp_grpc: otlp_grpc.local_addr(),
                otlp_http: otlp_http.local_addr(),
                zipkin: zipkin.local_addr(),
            },
            otlp_grpc,
            otlp_http,
            zipkin,
        })
    }

    /// Runs every receiver until the servers are told to stop.
    pub(crate) fn serve(self, servers: &mut Servers) {
        let receivers: [Box<dyn Receiver>; 3] = [
            Box::new(self.otlp_grpc),
            Box::new(self.otlp_http),
            Box::new(self.zipkin),
        ];
        for receiver in receivers {
            let name = receiver.name();
            let run = receiver.run(servers.shutdown_signal());
            servers.spawn(name, run);
        }
    }
}
