"""The phone menu as TwiML (pure: values in, documents out), in English and Welsh.

https://www.twilio.com/docs/voice/twiml: <Gather> collects a key press and posts it to ``action``;
with no key press the <Redirect> after it posts without ``Digits``; <Connect><Stream> hands the
call's audio to our WebSocket, with the conversation id as a <Parameter>.
"""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import Connect, Gather, Stream, VoiceResponse

SAY = {"en": "en-GB", "cy": "cy-GB"}
WORDS = {
    "en": {
        "topic": "For {name}, press {digit}.",
        "hold": "Thank you. Please hold while we connect you to an adviser.",
        "calling_back": "Hello. You asked us to call you back. Connecting you to an adviser now.",
        "when_open": "To be called back on this number when we open, press 1.",
        "will_call": "Thank you. We will call you back when we open. Goodbye.",
        "sorry": "Sorry, we could not take your call just now. Please try again later.",
    },
    "cy": {
        "topic": "Ar gyfer {name}, pwyswch {digit}.",
        "hold": "Diolch. Arhoswch tra byddwn yn eich cysylltu ag ymgynghorydd.",
        "calling_back": "Helo. Gofynnoch i ni eich ffonio'n ôl. Rydym yn eich cysylltu ag ymgynghorydd nawr.",
        "when_open": "I gael galwad yn ôl ar y rhif hwn pan fyddwn ar agor, pwyswch 1.",
        "will_call": "Diolch. Byddwn yn eich ffonio'n ôl pan fyddwn ar agor. Hwyl fawr.",
        "sorry": "Mae'n ddrwg gennym, ni allem gymryd eich galwad ar hyn o bryd. Ceisiwch eto yn nes ymlaen.",
    },
}


def welcome(action: str) -> str:
    """The greeting and the choice of language (1 English, 2 Welsh); no key press means English."""
    r = VoiceResponse()
    g = Gather(num_digits=1, action=action, method="POST", timeout=5)
    g.say("Thank you for calling. For English, press 1.", language=SAY["en"])
    g.say("Diolch am ffonio. Am Gymraeg, pwyswch 2.", language=SAY["cy"])
    r.append(g)
    r.redirect(action, method="POST")
    return str(r)


def topics(action: str, language: str, names: Sequence[str]) -> str:
    """The choice of topic: the n-th of ``names`` (display names, in the caller's language) is key n."""
    r = VoiceResponse()
    g = Gather(num_digits=1, action=action, method="POST", timeout=5)
    for digit, name in enumerate(names[:9], start=1):
        g.say(WORDS[language]["topic"].format(name=name, digit=digit), language=SAY[language])
    r.append(g)
    r.redirect(action, method="POST")
    return str(r)


def connect(stream_url: str, conversation_id: str, language: str, words: str = "hold") -> str:
    """Hand the call's audio to our media stream endpoint, which queues it and plays hold audio."""
    r = VoiceResponse()
    r.say(WORDS[language][words], language=SAY[language])
    c = Connect()
    s = Stream(url=stream_url)
    s.parameter(name="conversation_id", value=conversation_id)
    c.append(s)
    r.append(c)
    return str(r)


def calling_back(stream_url: str, conversation_id: str, language: str) -> str:
    """The caller answered our call back: say who is calling, then connect them to the waiting adviser."""
    return connect(stream_url, conversation_id, language, "calling_back")


def closed(message: str, language: str, callback_action: str = "") -> str:
    """Outside opening hours: say so (``message`` names when the line opens), offer to call back when
    it opens (key 1, posted to ``callback_action``), then end the call."""
    r = VoiceResponse()
    r.say(message, language=SAY[language])
    if callback_action:
        g = Gather(num_digits=1, action=callback_action, method="POST", timeout=5)
        g.say(WORDS[language]["when_open"], language=SAY[language])
        r.append(g)
    r.hangup()
    return str(r)


def will_call(language: str) -> str:
    """The caller asked to be called back when the line opens."""
    r = VoiceResponse()
    r.say(WORDS[language]["will_call"], language=SAY[language])
    r.hangup()
    return str(r)


def sorry(language: str) -> str:
    r = VoiceResponse()
    r.say(WORDS[language]["sorry"], language=SAY[language])
    r.hangup()
    return str(r)
