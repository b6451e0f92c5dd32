"""cAdvisor (the kubelet's container metrics) against kube-state-metrics limits: CPU
seconds and the working set per container, as a percent of the container's limit. Since
kube-state-metrics v2 the limits are one family with a `resource` label; v1 had one family
per resource. Series of the pause container (`container="POD"`) are left out."""

from bot.metrics.conventions.table import Convention, Resource

V1 = "cAdvisor + kube-state-metrics v1"
NOT_PAUSE = 'container!="POD"'

CONVENTION = Convention(
    name="cAdvisor + kube-state-metrics",
    cpu=(
        Resource(
            "container_cpu_usage_seconds_total",
            "counter",
            "kube_pod_container_resource_limits",
            'resource="cpu"',
            usage_filter=NOT_PAUSE,
            joins=True,
        ),
        Resource(
            "container_cpu_usage_seconds_total",
            "counter",
            "kube_pod_container_resource_limits_cpu_cores",
            usage_filter=NOT_PAUSE,
            joins=True,
            name=V1,
        ),
    ),
    memory=(
        Resource(
            "container_memory_working_set_bytes",
            "gauge",
            "kube_pod_container_resource_limits",
            'resource="memory"',
            usage_filter=NOT_PAUSE,
            joins=True,
        ),
        Resource(
            "container_memory_working_set_bytes",
            "gauge",
            "kube_pod_container_resource_limits_memory_bytes",
            usage_filter=NOT_PAUSE,
            joins=True,
            name=V1,
        ),
    ),
)
