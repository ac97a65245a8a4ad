"""The words for a 代办 request's status, mode, escalation level and events: one set for the counter's screens,
the supervisors' console and `kiosk proxy`. Each is a gettext message id (translate with kiosk.i18n); a code
without a word is shown as it is."""
from __future__ import annotations

from kiosk.i18n import N_

STATUS = {"new": N_("New"), "released": N_("Back in the pool"), "claimed": N_("Claimed"),
          "in_progress": N_("In progress"), "waiting_citizen": N_("Waiting for the citizen"), "filed": N_("Filed"),
          "done": N_("Done"), "cancelled": N_("Cancelled"), "refused": N_("Refused")}
MODES = {"remote_guidance": N_("Remote guidance"), "home_visit": N_("Home visit"), "full_proxy": N_("Full proxy"),
         "assisted": N_("On-site help")}
CHANNELS = {"kiosk": N_("Self-service kiosk"), "counter": N_("Counter"), "hotline": N_("12345 hotline"),
            "miniprogram": N_("Mini-program"), "field": N_("Field visit"), "other": N_("Other")}
# 四层协调: 代办员 → 窗口人员 → 审批科长 → 中心领导
LEVELS = {0: N_("Proxy clerk"), 1: N_("Window staff"), 2: N_("Approval chief"), 3: N_("Centre leader")}
MANDATE = {"pending": N_("waiting for signature"), "active": N_("in force"), "renewed": N_("renewed, in force"),
           "suspended": N_("suspended"), "revoked": N_("revoked"), "expired": N_("expired"), "completed": N_("completed")}
EVENTS = {"created": N_("created"), "notified": N_("SMS sent"), "claimed": N_("claimed"), "started": N_("started"),
          "waiting_citizen": N_("waiting for the citizen"), "resumed": N_("resumed"), "filed": N_("filed"),
          "done": N_("done"), "cancelled": N_("cancelled"), "refused": N_("refused"), "released": N_("back to the pool"),
          "lease_expired": N_("claim ran out"), "escalated": N_("escalated"), "deescalated": N_("sent down"),
          "sla_warning": N_("time warning"), "sla_breached": N_("time exceeded"), "mandate_created": N_("委托书 created"),
          "mandate_activated": N_("委托书 in force"), "mandate_suspended": N_("委托书 suspended"),
          "mandate_renewed": N_("委托书 renewed"), "mandate_revoked": N_("委托书 revoked"),
          "mandate_expired": N_("委托书 expired"), "mandate_completed": N_("委托书 completed"),
          "personal_data_viewed": N_("personal data viewed"), "material_viewed": N_("scan viewed"),
          "signature_viewed": N_("signature viewed"), "case_rejected": N_("case rejected by the platform")}
