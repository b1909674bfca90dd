"""Request and response bodies of the HTTP API, one module per function's part of it, so that a function builds
only the models it serves (issue 18: report intake never loads the case API's). `from consent_guard.models.api
import X` still works for every body: the name is looked up in its module on first use (PEP 562).

    base      Request, Response, ErrorBody, FieldError, ContextAccepted, Identifier, Locale
    signals   a media item's hashes (MediaSignalsIn)
    reports   the report intake function's bodies (reports, context)
    cases     the case API's (queues, cases, decisions, appeals, notifications)
    media     the hash banks' (protected media, matches, bank entries)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consent_guard.models.api.base import (
        ContextAccepted,
        ErrorBody,
        FieldError,
        Identifier,
        Locale,
        Request,
        Response,
    )
    from consent_guard.models.api.cases import (
        MAX_VERSION,
        AppealDecisionRequest,
        AppealFiled,
        AppealRequest,
        AppealView,
        CaseEventView,
        CasePage,
        CaseSummary,
        CaseView,
        CitableRule,
        DecisionPreview,
        DecisionPreviewRequest,
        DecisionRequest,
        DecisionView,
        DedicatedExposureRequest,
        DetectionView,
        MediaViewed,
        MediaViewRequest,
        NotificationPage,
        NotificationView,
        PolicyRules,
        PostView,
        QueueCategoryCount,
        QueueCounts,
        ReportPage,
        RuleId,
        StaffReportView,
        StatementView,
        StrikeView,
    )
    from consent_guard.models.api.media import (
        BankEntryChangeRequest,
        BankEntryView,
        MatchView,
        MediaMatchRequest,
        MediaMatchResult,
        ProtectedMediaPage,
        ProtectedMediaRequest,
        ProtectedMediaView,
    )
    from consent_guard.models.api.reports import (
        AccountContextRequest,
        AttestationsIn,
        ConfirmationsRequest,
        MediaContextRequest,
        MediaItemIn,
        PostContextRequest,
        PostSignalsIn,
        ReportAccepted,
        ReportView,
        SubmitReportRequest,
    )
    from consent_guard.models.api.signals import (
        Md5Hex,
        MediaSignalsIn,
        PdqHex,
        Sha256Hex,
    )

_HOME: dict[str, str] = {
    "ContextAccepted": "base",
    "ErrorBody": "base",
    "FieldError": "base",
    "Identifier": "base",
    "Locale": "base",
    "Request": "base",
    "Response": "base",
    "Md5Hex": "signals",
    "MediaSignalsIn": "signals",
    "PdqHex": "signals",
    "Sha256Hex": "signals",
    "AccountContextRequest": "reports",
    "AttestationsIn": "reports",
    "ConfirmationsRequest": "reports",
    "MediaContextRequest": "reports",
    "MediaItemIn": "reports",
    "PostContextRequest": "reports",
    "PostSignalsIn": "reports",
    "ReportAccepted": "reports",
    "ReportView": "reports",
    "SubmitReportRequest": "reports",
    "AppealDecisionRequest": "cases",
    "AppealFiled": "cases",
    "AppealRequest": "cases",
    "AppealView": "cases",
    "CaseEventView": "cases",
    "CasePage": "cases",
    "CaseSummary": "cases",
    "CaseView": "cases",
    "CitableRule": "cases",
    "DecisionPreview": "cases",
    "DecisionPreviewRequest": "cases",
    "DecisionRequest": "cases",
    "DecisionView": "cases",
    "DedicatedExposureRequest": "cases",
    "DetectionView": "cases",
    "MAX_VERSION": "cases",
    "MediaViewRequest": "cases",
    "MediaViewed": "cases",
    "NotificationPage": "cases",
    "NotificationView": "cases",
    "PolicyRules": "cases",
    "PostView": "cases",
    "QueueCategoryCount": "cases",
    "QueueCounts": "cases",
    "ReportPage": "cases",
    "RuleId": "cases",
    "StaffReportView": "cases",
    "StatementView": "cases",
    "StrikeView": "cases",
    "BankEntryChangeRequest": "media",
    "BankEntryView": "media",
    "MatchView": "media",
    "MediaMatchRequest": "media",
    "MediaMatchResult": "media",
    "ProtectedMediaPage": "media",
    "ProtectedMediaRequest": "media",
    "ProtectedMediaView": "media",
}
__all__ = [  # noqa: RUF022 - one name a line
    "AccountContextRequest",
    "AppealDecisionRequest",
    "AppealFiled",
    "AppealRequest",
    "AppealView",
    "AttestationsIn",
    "BankEntryChangeRequest",
    "BankEntryView",
    "CaseEventView",
    "CasePage",
    "CaseSummary",
    "CaseView",
    "CitableRule",
    "ConfirmationsRequest",
    "ContextAccepted",
    "DecisionPreview",
    "DecisionPreviewRequest",
    "DecisionRequest",
    "DecisionView",
    "DedicatedExposureRequest",
    "DetectionView",
    "ErrorBody",
    "FieldError",
    "Identifier",
    "Locale",
    "MAX_VERSION",
    "MatchView",
    "Md5Hex",
    "MediaContextRequest",
    "MediaItemIn",
    "MediaMatchRequest",
    "MediaMatchResult",
    "MediaSignalsIn",
    "MediaViewRequest",
    "MediaViewed",
    "NotificationPage",
    "NotificationView",
    "PdqHex",
    "PolicyRules",
    "PostContextRequest",
    "PostSignalsIn",
    "PostView",
    "ProtectedMediaPage",
    "ProtectedMediaRequest",
    "ProtectedMediaView",
    "QueueCategoryCount",
    "QueueCounts",
    "ReportAccepted",
    "ReportPage",
    "ReportView",
    "Request",
    "Response",
    "RuleId",
    "Sha256Hex",
    "StaffReportView",
    "StatementView",
    "StrikeView",
    "SubmitReportRequest",
]
assert set(__all__) == set(_HOME)


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
