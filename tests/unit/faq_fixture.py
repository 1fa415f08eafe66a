"""A telecom FAQ of 22 entries and 40 questions phrased differently, for knowledge tests.

Deliberately a different business from the demo shop, so the tests do not tune to the demo.
"""

from __future__ import annotations

FAQ: list[tuple[str, str]] = [
    (
        "How do I reset my router?",
        "Unplug the router for 30 seconds and plug it back in. If that doesn't help, press and "
        "hold the pinhole button on the back for 10 seconds to restore its factory settings.",
    ),
    (
        "Why is my internet slow?",
        "Speeds can drop at peak times in the evening or when many devices share the Wi-Fi. "
        "Move closer to the router, use a cable for gaming and run our speed test.",
    ),
    (
        "How do I change my Wi-Fi password?",
        "Open 192.168.1.1 in a browser, sign in with the admin code on the router's sticker, "
        "and choose Wireless settings to set a new network key.",
    ),
    (
        "Can I keep my phone number when I switch to you?",
        "Yes. Text PAC to 65075 from your old provider to get a porting code, give it to us "
        "when you order, and your number moves across within one working day.",
    ),
    (
        "How do I activate my SIM card?",
        "Put the SIM in your phone, restart it and text ACTIVATE to 2020. Activation takes up "
        "to 2 hours; you'll get a confirmation text.",
    ),
    (
        "What is the minimum contract length?",
        "Phone contracts run for 24 months and broadband for 18 months. SIM-only plans are "
        "also available on a 30-day rolling basis that you can leave any month.",
    ),
    (
        "How do I cancel my contract?",
        "Call us or use the Leave page in your account, giving 30 days' notice. If you leave "
        "before the minimum term ends, an early termination fee applies.",
    ),
    (
        "When is my bill due?",
        "Bills are issued on the 1st of each month and the Direct Debit is taken on the 5th. "
        "You can move the collection date once a year in your account.",
    ),
    (
        "Why is my bill higher than usual?",
        "Extra charges usually come from roaming outside the EU, calls to premium-rate "
        "numbers or using more data than your allowance. Itemised bills show each one.",
    ),
    (
        "How does roaming work abroad?",
        "Roaming in the EU is included in your plan at no extra cost. In the rest of the world "
        "a Travel Pass costs £5 a day and lets you use your allowance as at home.",
    ),
    (
        "How do I set up voicemail?",
        "Dial 121 from your mobile and follow the prompts to record your greeting and choose a "
        "PIN. Call 121 any time to hear your messages.",
    ),
    (
        "What should I do if my phone is lost or stolen?",
        "Call us straight away so we can bar your SIM and block the handset by its IMEI "
        "number. We'll send a replacement SIM with the same number for free.",
    ),
    (
        "How do I upgrade my phone?",
        "You can upgrade from 30 days before your contract ends. Check your eligibility and "
        "pick a new handset in the Upgrades section of the app.",
    ),
    (
        "Do you offer broadband in my area?",
        "Enter your postcode in our coverage checker to see which fibre speeds reach your "
        "address. Full fibre now covers 80% of homes we serve.",
    ),
    (
        "How long does broadband installation take?",
        "An engineer visit is usually booked within 10 working days of your order. The visit "
        "itself takes about two hours and someone over 18 must be home.",
    ),
    (
        "Can I get a refund for a service outage?",
        "Yes. If your service is down for more than 2 full working days after you report it, "
        "we automatically credit £9.33 for each day until it is fixed.",
    ),
    (
        "How do I unlock my phone for another network?",
        "Phones bought from us since 2022 are sold unlocked. For older handsets request a free "
        "unlock code in your account; it arrives by text within 2 working days.",
    ),
    (
        "How can I see how much data I have left?",
        "Your remaining allowance is on the home screen of the app, or text BALANCE to 2020 "
        "for a free reply with your minutes, texts and data left.",
    ),
    (
        "Can I add someone to my plan?",
        "Yes. Family plans take up to 5 lines on one bill, and every extra line gets 20% off "
        "its monthly price. Add a line in the app under My plan.",
    ),
    (
        "How can I pay my bill?",
        "Pay by Direct Debit, by debit or credit card in the app, or by PayPal. We no longer "
        "accept cheques or payments at the post office.",
    ),
    (
        "Is there a parental control feature?",
        "SafeZone, our free content filter, blocks adult and gambling websites on every device "
        "at home. Turn it on or off in the app under Broadband settings.",
    ),
    (
        "How do I move my broadband to a new address?",
        "Tell us at least 2 weeks before you move using the Moving home form. We'll check "
        "coverage at the new address and book the switch-over for your moving day.",
    ),
]

QUESTIONS: list[tuple[str, int]] = [
    ("my modem seems frozen, how do I restart it from scratch?", 0),
    ("what's the way to do a factory reset on the box you gave me?", 0),
    ("the connection crawls every evening, what can I do?", 1),
    ("web pages take forever to load on my laptop", 1),
    ("I want a new wireless key for my home network", 2),
    ("how can I update the wifi passcode", 2),
    ("will I lose my mobile number if I move over from another carrier?", 3),
    ("can I bring my existing number with me", 3),
    ("just got a new sim, how do I get it working?", 4),
    ("my new SIM doesn't work yet, what do I need to do to switch it on", 4),
    ("how long am I tied in for?", 5),
    ("do you have plans without a long commitment", 5),
    ("I'd like to end my agreement with you", 6),
    ("what's the notice period to leave", 6),
    ("what date do you take the payment each month?", 7),
    ("when do you collect the monthly direct debit", 7),
    ("why was I charged more this month", 8),
    ("my invoice went up unexpectedly", 8),
    ("will my phone work when I'm on holiday in Spain?", 9),
    ("how much does using data in the USA cost", 9),
    ("how can I listen to my messages", 10),
    ("how do I record a greeting for missed calls", 10),
    ("someone took my mobile, what now?", 11),
    ("I can't find my handset anywhere, can you block it", 11),
    ("when can I get a newer handset", 12),
    ("am I eligible for a new phone before my contract ends", 12),
    ("is fibre available at my postcode?", 13),
    ("can I get your home internet where I live", 13),
    ("how soon can an engineer connect my home internet", 14),
    ("how many days until my broadband is set up", 14),
    ("the internet was down for three days, do I get money back?", 15),
    ("will you compensate me for the network outage last week", 15),
    ("I want to use another provider's sim in my phone", 16),
    ("how do I get my handset network unlocked", 16),
    ("how do I check how many gigabytes remain this month", 17),
    ("can my daughter join my account", 18),
    ("what payment options are there for my invoice", 19),
    ("how can I stop my kids seeing adult websites", 20),
    ("I'm relocating next month, what happens to my internet", 21),
    ("can I take my internet connection with me to my new flat", 21),
]

UNRELATED: list[str] = [
    "what is the capital of France",
    "recommend a good pasta recipe",
    "who won the football match last night",
    "tell me a joke about penguins",
]


def faq_markdown() -> str:
    """The FAQ as a Markdown page, one ``##`` heading per entry."""
    sections = [f"## {title}\n\n{answer}\n" for title, answer in FAQ]
    return "# Help centre\n\n" + "\n".join(sections)
