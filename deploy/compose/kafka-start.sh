#!/usr/bin/env bash
# Kafka for docker-compose, with the launcher's security set-up (deploy/local/launcher.py) and
# TLS: SASL/SCRAM-SHA-512 over TLS (SASL_SSL, the certificate from deploy/compose/make-certs.sh)
# on the client listeners, SASL/PLAIN on the controller listener, the KRaft
# StandardAuthorizer (deny by default), one super user. Every principal's SCRAM credentials go
# into the metadata log when the storage is formatted, before anyone connects; the ACLs are set
# afterwards by the `bus-setup` service (python -m mend_events.acls).
set -euo pipefail
: "${MEND_KAFKA_ADMIN_PASSWORD:?}" "${CLUSTER_ID:?}"
[ -r /mend/certs/kafka.pem ] || { echo "no TLS certificate: run deploy/compose/make-certs.sh" >&2; exit 1; }
CONF=/tmp/mend-server.properties
SCRAM=org.apache.kafka.common.security.scram.ScramLoginModule
PLAIN=org.apache.kafka.common.security.plain.PlainLoginModule
A=$MEND_KAFKA_ADMIN_PASSWORD
umask 077
cat > "$CONF" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=INTERNAL://0.0.0.0:9092,HOST://0.0.0.0:29092,CONTROLLER://localhost:9093
advertised.listeners=INTERNAL://kafka:9092,HOST://localhost:29092
controller.listener.names=CONTROLLER
listener.security.protocol.map=INTERNAL:SASL_SSL,HOST:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
ssl.keystore.type=PEM
ssl.keystore.location=/mend/certs/kafka.pem
ssl.truststore.type=PEM
ssl.truststore.location=/mend/certs/ca.crt
ssl.endpoint.identification.algorithm=https
ssl.enabled.protocols=TLSv1.3,TLSv1.2
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=$SCRAM required username="mend-admin" password="$A";
listener.name.host.scram-sha-512.sasl.jaas.config=$SCRAM required;
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=$PLAIN required username="mend-admin" password="$A" user_mend-admin="$A";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:mend-admin
allow.everyone.if.no.acl.found=false
log.dirs=/var/lib/kafka/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=-1
log.retention.bytes=-1
PROPS
# The healthcheck's client settings (kafka-broker-api-versions.sh --command-config).
cat > /tmp/mend-admin.properties <<PROPS
security.protocol=SASL_SSL
ssl.truststore.type=PEM
ssl.truststore.location=/mend/certs/ca.crt
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$SCRAM required username="mend-admin" password="$A";
PROPS
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  args=(--add-scram "SCRAM-SHA-512=[name=mend-admin,password=$A]")
  for user in consent risk sessions aftercare hub audit web disclosure circles; do
    var="MEND_KAFKA_${user^^}_PASSWORD"
    args+=(--add-scram "SCRAM-SHA-512=[name=$user,password=${!var:?$var is not set}]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$CLUSTER_ID" -c "$CONF" "${args[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$CONF"
