"""NAS-Bench-101's `ModelMetrics` protobuf, built at run time (no generated module, no TF).

The schema is the one in nasbench's `lib/model_metrics.proto` (proto2, package nasbench):

    message ModelMetrics { repeated EvaluationData evaluation_data = 1;
                           optional int32 trainable_parameters = 2;
                           optional double total_time = 3; }
    message EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
                             optional double train_accuracy = 3;
                             optional double validation_accuracy = 4;
                             optional double test_accuracy = 5;
                             optional string checkpoint_path = 6; }

`evaluation_data` holds the evaluations at initialisation, halfway and the end of training,
in that order (the official API reads [1] as halfway and [2] as final).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def model_metrics_class() -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "selfnas_nasbench_model_metrics.proto"
    fdp.package = "selfnas_nasbench"
    fdp.syntax = "proto2"
    F = descriptor_pb2.FieldDescriptorProto
    optional = F.LABEL_OPTIONAL

    evaluation = fdp.message_type.add()
    evaluation.name = "EvaluationData"
    for number, name in enumerate(
        (
            "current_epoch",
            "training_time",
            "train_accuracy",
            "validation_accuracy",
            "test_accuracy",
        ),
        start=1,
    ):
        evaluation.field.add(name=name, number=number, type=F.TYPE_DOUBLE, label=optional)
    evaluation.field.add(name="checkpoint_path", number=6, type=F.TYPE_STRING, label=optional)

    metrics = fdp.message_type.add()
    metrics.name = "ModelMetrics"
    metrics.field.add(
        name="evaluation_data",
        number=1,
        type=F.TYPE_MESSAGE,
        label=F.LABEL_REPEATED,
        type_name=".selfnas_nasbench.EvaluationData",
    )
    metrics.field.add(name="trainable_parameters", number=2, type=F.TYPE_INT32, label=optional)
    metrics.field.add(name="total_time", number=3, type=F.TYPE_DOUBLE, label=optional)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("selfnas_nasbench.ModelMetrics")
    )
