# /etc/sluice/jobmanager.hcl: a JobManager that leads through Consul, keeps
# checkpoints in S3 and gets its TaskManagers from Nomad. Secrets come from
# the environment: SLUICE_CONSUL_TOKEN, NOMAD_TOKEN, and AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY for S3.

http_addr = "0.0.0.0:8081"
rpc_addr  = "0.0.0.0:6123"
data_dir  = "/var/lib/sluice"
log_level = "info"

provider           = "nomad"
slots              = 4
taskmanager_memory = "2GiB"  # a size with a unit, or bytes
slot_timeout       = "2m"    # durations in Go's syntax

heartbeat {
  interval = "1s"
  timeout  = "5s"
}

restart {
  strategy = "fixed-delay"
  attempts = 3
  delay    = "1s"
}

state_backend "s3" {
  settings = {
    bucket = "sluice"
    prefix = "prod"
    region = "eu-west-1"
  }
}

consul {
  address = "127.0.0.1:8500"
  cluster = "prod"
}

nomad {
  address     = "http://127.0.0.1:4646"
  datacenters = ["dc1"]
  driver      = "raw_exec"

  constraint {
    attribute = "attr.kernel.name"
    value     = "linux"
  }
}
