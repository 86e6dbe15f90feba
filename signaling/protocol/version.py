"""Protocol version: bump MAJOR (and the subprotocol) on any incompatible change."""

PROTOCOL_VERSION = "1.15"  # 1.1: typed replies; the reply precedes the pushes its request caused
# 1.2: ticket.priority; needs inform routing (offer/session.start: language, unmet_needs, written)
# 1.3: browser guests by one-time link (guest.invite/admit/consent, guest.lobby/consent_request/state; role guest)
# 1.4: kiosk.health (devices, rtt_ms, app_version) for the IT monitor
# 1.6: callbacks (callback.bands/create from kiosks, callback.list/claim/outcome from consoles, callback.snapshot)
# 1.7: the document camera on the data channel (doc.camera, still.request, still.error, blob.begin + binary chunks;
#      signaling/protocol/channel.py)
# 1.8: cases (ticket.create case_number, its reply's case_found, offer.case_number; REST /api/cases)
# 1.9: calling branch staff (branch.call from kiosks, branch.called to staff, branch.ack, branch.call_state)
# 1.10: a PDF shown on the kiosk over the data channel (blob purpose document; doc.shown/error/page/pointer/close)
# 1.11: printing at the branch over the data channel (print.request, blob purpose print, print.status)
# 1.12: confirming what staff wrote (form.list/send from consoles, form.show to the kiosk, form.answer, form.state)
# 1.13: appointments (appointment.lookup/check_in from kiosks, appointment.update to staff; REST /api/appointments)
# 1.14: languages follow the language packs: ticket.create/callback.create ``language`` any 2-3 letter code the
#       server knows (invalid_message otherwise; was ja/en), welcome ``languages``, ServiceInfo ``texts`` by language
# 1.15: guest.consent agree=false for a guest already in the call: the resident takes consent back
SUBPROTOCOL = "madoguchi.v1"
MAX_FRAME_BYTES = 64 * 1024
AUTH_TIMEOUT_S = 5.0
WELCOME_WAIT_S = 10.0  # the programs' client gives up on an auth's answer after this, and tries again
# the server answers an auth within this, else error ``internal`` + close 1011 and the client retries: a sign-in the
# database cannot check in time (stalled, locked, overloaded) never holds a socket or a server's shutdown
AUTH_CHECK_TIMEOUT_S = WELCOME_WAIT_S - 2.0
PING_INTERVAL_S = 10.0
