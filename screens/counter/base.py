"""Base of the counter screens: access to the desk's services, background calls and refusals in words."""
from __future__ import annotations

from kiosk.counter.client import CounterRefused
from kiosk.errors import Unavailable
from kiosk.i18n import N_
from screens.base import KioskScreen

# The hub's refusal codes, in words (what happened, what to do).
REFUSALS = {
    "wrong_pin": N_("Wrong PIN."),
    "locked": N_("Too many wrong PINs. Please wait {s} seconds, then try again."),
    "not_staff": N_("This ID card does not belong to a clerk. Sign in with your own ID card."),
    "inactive": N_("This clerk's account is switched off. Please ask the outlet administrator."),
    "no_pin": N_("No PIN is set for this clerk. Please ask the outlet administrator to set one."),
    "other_outlet": N_("This belongs to another outlet and cannot be handled at this counter."),
    "not_entitled": N_("This ID card is neither the applicant's nor that of an agent with a valid power of attorney (委托书). The result cannot be handed over: the applicant must come in person or sign a power of attorney."),
    "mandate_expired": N_("The power of attorney (委托书) for this person has expired or was revoked. The applicant must come in person or sign a new one."),
    "already_handed_out": N_("This result was already handed out ({detail}). Nothing was handed out again."),
    "not_ready": N_("The result of this application has not arrived yet (not 办结 / 待领取)."),
    "shift_ended": N_("Your session has ended. Please sign in again; nothing you entered is lost."),
    "not_signed_in": N_("Please sign in with your ID card and PIN."),
    "held_by_other": N_("Another clerk is handling this request. Pick another one from the queue."),
    "not_found": N_("Nothing was found. Check the number and try again."),
    "waybill": N_("Please enter the waybill number (运单号) of the postal delivery."),
    "card_required": N_("Please place the recipient's ID card on the reader."),
    "nothing_to_look_up": N_("Enter a receipt number or a pickup code, or place the citizen's ID card on the reader."),
    "upload": N_("A scanned page did not reach the hub whole. Please scan it again."),
    "not_a_counter": N_("This machine is not registered as a counter at the hub. Please ask the outlet administrator."),
    "idempotency_key": N_("The counter sent an incomplete request. Please try again; if it happens again, restart the counter app."),
    "material_gone": N_("This scan is no longer kept at the hub: the request is closed. Ask the citizen for the paper."),
    "in_progress": N_("The hub is still working on an earlier try of this. Wait a moment; it is sent again by itself."),
    # the 代办 API's refusal codes (docs/proxy-api.md)
    "lease_lapsed": N_("Your hold on this request ran out and it went back to the queue. Claim it again to go on."),
    "taken": N_("Another clerk has just taken this request, or it was closed. Pick another one from the queue."),
    "invalid_state": N_("This request is now “{state}”: that step no longer applies. Please look at the request again."),
    "not_holder": N_("You have not claimed this request. Claim it first."),
    "above_level": N_("This request was escalated above your level and is handled there now."),
    "top_level": N_("This request is already at the highest level (centre leader)."),
    "bottom_level": N_("This request is not escalated: there is nothing to send back down."),
    "not_level_owner": N_("Only the level this request is at can do this."),
    "mandate_missing": N_("Full proxy needs the citizen's signed power of attorney (委托书) first."),
    "mandate_not_effective": N_("The power of attorney (委托书) is not in force. Renew it, or ask the citizen to sign a new one."),
    "mandate_scope": N_("The power of attorney (委托书) does not cover this service. The citizen must sign one that does."),
}


class CounterScreen(KioskScreen):
    @property
    def desk(self):
        return self.app.counter

    @property
    def services(self):
        return self.app.counter.services

    def refusal_text(self, exc: Exception) -> str:
        """A refusal or an outage in words, never a traceback."""
        if isinstance(exc, CounterRefused):
            template = REFUSALS.get(exc.code)
            if template:
                from kiosk.proxy_words import STATUS

                state = STATUS.get(exc.detail.get("status") or "", exc.detail.get("status") or "")
                return self._(template).format(s=exc.retry_after_s, detail=exc.detail.get("by", ""),
                                               state=self._(state) if state else "")
            return self._("The hub refused this: {reason}").format(reason=exc.message or exc.code)
        if isinstance(exc, Unavailable):
            return self._("The hub cannot be reached right now. Please try again in a moment.")
        if getattr(exc, "message", None) == "no clerk is signed in":
            return self._(REFUSALS["not_signed_in"])
        return self._("Something went wrong: {reason}").format(reason=str(exc)[:120])

    def queued_text(self) -> str:
        return self._("The hub cannot be reached: the action is saved on this counter and will be sent automatically when the hub is back.")

    def after_refusal(self, exc: Exception) -> None:
        """A shift that ended at the hub sends the clerk to sign in again."""
        if isinstance(exc, CounterRefused) and exc.code in ("shift_ended", "not_signed_in") and self.desk.signed_in:
            self.desk.sign_out("timeout")
