"""Import: stream a source through a mapper into a versioned dataset; saved mappings; the audit log.

from brewslm.ingestion import ImportSpec, run_import
result = run_import(ImportSpec(locator="jsonl:data/train.jsonl", mapper_id="label_to_classification"))
"""

from brewslm.ingestion.importer import MAPPER_ERROR, RUN_FAILED, RUN_OK, STAGE, run_import
from brewslm.ingestion.keys import record_key
from brewslm.ingestion.mappings import (
    MappingVersionInfo,
    SavedMappingInfo,
    delete_mapping,
    get_mapping,
    list_mappings,
    mapping_history,
    rerun_mapping,
    save_mapping,
    update_mapping,
)
from brewslm.ingestion.planning import ImportPlan, dry_run_plan, plan_import
from brewslm.ingestion.spec import SPLIT_RATIOS, ImportResult, ImportSpec
from brewslm.storage.datasets import DatasetVersion, list_datasets, list_versions, open_dataset
from brewslm.storage.events import EventInfo, list_events, record_event

__all__ = [
    "MAPPER_ERROR",
    "RUN_FAILED",
    "RUN_OK",
    "SPLIT_RATIOS",
    "STAGE",
    "DatasetVersion",
    "EventInfo",
    "ImportPlan",
    "ImportResult",
    "ImportSpec",
    "MappingVersionInfo",
    "SavedMappingInfo",
    "delete_mapping",
    "dry_run_plan",
    "get_mapping",
    "list_datasets",
    "list_events",
    "list_mappings",
    "list_versions",
    "mapping_history",
    "open_dataset",
    "plan_import",
    "record_event",
    "record_key",
    "rerun_mapping",
    "run_import",
    "save_mapping",
    "update_mapping",
]
