"""Write the example datasets that ship with BrewSLM (our own text, generated from templates).

    python scripts/make_example_data.py        # rewrites src/brewslm/examples/*.jsonl

Every file is deterministic (fixed seeds) and feeds one built-in recipe (src/brewslm/recipes/builtin):

- sentiment_reviews.jsonl (sentiment): product and service reviews, `review` text and `rating`
  label ("positive" / "negative").
- intent_requests.jsonl (intent): banking-assistant requests, `utterance` and `intent`, 12 intents
  with real imbalance (from 70 rows down to 5).
- order_emails.jsonl (json_extract): order confirmation and invoice emails, `email` text and the
  `order` object to extract {customer, order_id, date (ISO), total, currency, items_count, coupon?}.
- pii_messages.jsonl (pii_spans): support messages, `message` text and `entities` character spans
  [{start, end, type, value}] of PERSON / EMAIL / PHONE / ADDRESS; a quarter carry no PII at all
  (hard negatives with order numbers, prices and dates that are not PII).
- faq_docs.jsonl + faq_questions.jsonl (faq_rag): help-centre articles of a fictional e-bike rental
  service, and questions with the `article` they are about, the `answer` sentence and `covered`
  (false: the help centre does not say, the model should refuse).
- tool_chats.jsonl (tool_call): OpenAI-style `messages` + `tools` (function JSON schemas): one call,
  a call followed by its result and the final answer, or a direct answer with no call.

A few rows in every file are deliberately messy, as real exports are: a truncated JSON line, a row
missing its label/target, an exact duplicate, a wrong-typed value, and the task's own kind of
breakage (a span whose stated text does not match its offsets, tool-call arguments that are not
JSON...). The import pipeline rejects or de-duplicates them with a reason, never silently.
All names, e-mail addresses, phone numbers and addresses are invented (example.com/.org/.net
domains, 555-01xx numbers).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "brewslm" / "examples"

PRODUCTS = {
    "headphones": (
        ["the sound", "the noise cancelling", "the battery life", "the ear cushions", "the bluetooth pairing"],
    ),
    "coffee maker": (["the brew temperature", "the water tank", "the grinder", "the timer", "the carafe"],),
    "hiking boots": (["the grip", "the ankle support", "the waterproofing", "the laces", "the sizing"],),
    "hotel stay": (["the room", "the front desk staff", "the breakfast", "the bed", "the location"],),
    "banking app": (
        ["the login", "the transfer screen", "the notifications", "the support chat", "the card controls"],
    ),
    "pizza delivery": (["the crust", "the delivery time", "the toppings", "the driver", "the order tracking"],),
    "laptop": (["the keyboard", "the screen", "the fan noise", "the battery", "the trackpad"],),
    "yoga class": (["the instructor", "the pacing", "the studio", "the playlist", "the booking system"],),
    "running shoes": (["the cushioning", "the fit", "the weight", "the sole", "the breathability"],),
    "phone case": (["the fit", "the buttons", "the drop protection", "the grip", "the colour"],),
}

POSITIVE = [
    "{a} is excellent",
    "{a} works perfectly",
    "{a} exceeded my expectations",
    "{a} is a real pleasure",
    "I love {a}",
    "{a} is better than I hoped",
    "{a} has been flawless for weeks",
    "{a} is superb",
    "honestly, {a} is not bad at all",
    "{a} is reliable and well made",
    "{a} made my day",
    "{a} is comfortable and sturdy",
    "no complaints about {a}",
    "{a} is worth every penny",
]
NEGATIVE = [
    "{a} is terrible",
    "{a} stopped working after two days",
    "{a} is a huge disappointment",
    "I regret paying for {a}",
    "{a} is worse than the cheap one I had",
    "{a} broke almost immediately",
    "{a} is flimsy and badly made",
    "{a} is not worth the money",
    "{a} keeps failing",
    "{a} is painfully slow",
    "I would not recommend {a} to anyone",
    "{a} is uncomfortable",
    "{a} ruined the whole experience",
    "{a} is a waste of time",
]
OPENERS = [
    "",
    "Bought the {p} last month. ",
    "Second {p} from this brand. ",
    "Quick review of the {p}: ",
    "We tried the {p} for a week. ",
    "Update on my {p}: ",
]
POS_CLOSERS = ["", " Would buy again.", " Five stars.", " Highly recommended!", " Very happy overall."]
NEG_CLOSERS = ["", " Returning it.", " One star.", " Avoid.", " Very unhappy overall."]
MIXED_POS = [
    "{a1} is a bit plain, but {a2} is fantastic and that is what matters.",
    "I expected problems with {a1}, yet everything about {a2} turned out great.",
]
MIXED_NEG = [
    "{a1} looks nice, but {a2} is so bad that I cannot use it.",
    "I wanted to like {a1}, however {a2} is a constant headache.",
]


def sentiment_rows(n: int = 400, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        product = rng.choice(sorted(PRODUCTS))
        aspects = PRODUCTS[product][0]
        positive = rng.random() < 0.5
        opener = rng.choice(OPENERS).format(p=product)
        if rng.random() < 0.15:
            a1, a2 = rng.sample(aspects, 2)
            body = rng.choice(MIXED_POS if positive else MIXED_NEG).format(a1=a1, a2=a2)
            body = body[0].upper() + body[1:]
        else:
            clause = rng.choice(POSITIVE if positive else NEGATIVE).format(a=rng.choice(aspects))
            body = clause[0].upper() + clause[1:] + "."
        closer = rng.choice(POS_CLOSERS if positive else NEG_CLOSERS)
        text = f"{opener}{body}{closer}".strip()
        if text in seen:
            continue
        seen.add(text)
        rows.append(
            {
                "id": f"r{len(rows) + 1:04d}",
                "product": product,
                "review": text,
                "rating": "positive" if positive else "negative",
            }
        )
    return rows


# --- shared helpers ---------------------------------------------------------------------------------

FIRST_NAMES = [
    "Maria",
    "James",
    "Aiko",
    "Lucas",
    "Priya",
    "Tom",
    "Fatima",
    "Noah",
    "Elena",
    "Kwame",
    "Sofia",
    "Daniel",
    "Mei",
    "Oliver",
    "Amara",
    "Ivan",
    "Grace",
    "Mateo",
    "Hannah",
    "Yusuf",
]
LAST_NAMES = [
    "Lopez",
    "Carter",
    "Tanaka",
    "Moreau",
    "Sharma",
    "Becker",
    "Haddad",
    "Novak",
    "Rossi",
    "Mensah",
    "Silva",
    "Okafor",
    "Chen",
    "Fischer",
    "Nwosu",
    "Petrov",
    "Lindqvist",
    "Duarte",
    "Kowalski",
    "Reyes",
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]
STREETS = [
    "Willow Lane",
    "Harbor Street",
    "Maple Avenue",
    "Quarry Road",
    "Birch Court",
    "Station Road",
    "Orchard Way",
    "Elm Street",
    "Canal Walk",
    "Hillside Drive",
]
CITIES = ["Springfield", "Riverton", "Lakeside", "Fairview", "Millbrook", "Ashford", "Greenhill"]


def draw_unique(n: int, make, key, *, attempts_per_row: int = 200) -> list:
    """``n`` rows from ``make()`` with distinct ``key(row)``; fails loudly if the templates run dry."""
    rows, seen = [], set()
    for _ in range(n * attempts_per_row):
        if len(rows) == n:
            return rows
        row = make()
        if key(row) in seen:
            continue
        seen.add(key(row))
        rows.append(row)
    if len(rows) == n:
        return rows
    raise RuntimeError(f"the templates yield only {len(rows)} distinct rows, {n} were asked for")


def jsonl_lines(rows: list[dict]) -> list[str]:
    return [json.dumps(row, ensure_ascii=False) for row in rows]


def insert_messy(lines: list[str], messy: list[tuple[int, str]]) -> list[str]:
    """``lines`` with each messy line inserted at its position (positions in ascending order)."""
    out = list(lines)
    for position, line in messy:
        out.insert(position, line)
    return out


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def email_of(rng: random.Random, first: str, last: str) -> str:
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}", f"{last}.{first[0]}"])
    return f"{local.lower()}@{rng.choice(EMAIL_DOMAINS)}"


def phone(rng: random.Random) -> str:
    """A number in the 555-0100..0199 range, reserved for fiction."""
    line = f"01{rng.randint(0, 99):02d}"
    area = rng.choice(["212", "312", "415", "617", "503"])
    return rng.choice([f"555-{line}", f"({area}) 555-{line}", f"+1 {area} 555 {line}", f"{area}-555-{line}"])


def street_address(rng: random.Random) -> str:
    return f"{rng.randint(2, 240)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"


def vary_case(rng: random.Random, text: str, prefixes: list[str], suffixes: list[str]) -> str:
    """The chat-like surface of a request: an optional greeting and ending, sometimes all lower case."""
    text = f"{rng.choice(prefixes)}{text}{rng.choice(suffixes)}"
    text = text[:1].upper() + text[1:]
    return text.lower() if rng.random() < 0.2 else text


# --- intent: banking-assistant requests, 12 intents with real imbalance ----------------------------

ACCOUNTS = ["checking", "savings", "joint", "business", "student"]
CARDS = ["debit card", "credit card", "visa card", "bank card"]
PAYEES = ["my landlord", "Sam", "my sister", "Alex", "the plumber", "my flatmate", "Jordan", "my mum"]
AMOUNTS = ["$20", "$45", "$150", "$300", "£60", "€75", "200 dollars", "$1,200"]
MERCHANTS = ["a coffee shop", "an online store", "a gas station", "a hotel", "a streaming service", "a restaurant"]
COUNTRIES = ["Spain", "Japan", "Canada", "Mexico", "Italy", "Portugal", "Kenya"]

INTENTS: dict[str, tuple[int, list[str]]] = {  # intent -> (rows, templates)
    "check_balance": (
        70,
        [
            "what's my {acct} balance",
            "how much money is in my {acct} account",
            "show me the balance of my {acct} account",
            "balance on my {acct} account",
            "can you tell me how much I have in {acct}",
            "what is the current balance",
            "do I have enough in my {acct} account to pay {payee}",
            "how much is left in my account",
        ],
    ),
    "transfer_money": (
        55,
        [
            "send {amount} to {payee}",
            "transfer {amount} from {acct} to {acct2}",
            "I need to move {amount} into my {acct2} account",
            "pay {payee} back {amount}",
            "can I wire {amount} to {payee} today",
            "make a transfer of {amount} to {payee}",
        ],
    ),
    "card_lost": (
        45,
        [
            "I lost my {card}",
            "my {card} was stolen",
            "I can't find my {card} anywhere",
            "someone took my wallet with my {card} in it",
            "please block my {card}, it's missing",
            "I think I left my {card} at {merchant}",
        ],
    ),
    "reset_password": (
        40,
        [
            "I forgot my password",
            "reset my password",
            "I can't log in to the app",
            "the app says my password is wrong",
            "how do I change my login password",
            "I'm locked out of online banking",
            "my password expired, what now",
        ],
    ),
    "update_address": (
        32,
        [
            "I moved, please update my address",
            "change the address on my account",
            "I need to update my mailing address",
            "how do I change where my statements are sent",
            "new home address, where do I enter it",
            "update my address on the {acct} account",
        ],
    ),
    "card_activation": (
        28,
        [
            "how do I activate my new {card}",
            "activate my {card}",
            "my new {card} arrived, how do I turn it on",
            "the {card} I received doesn't work yet",
            "I need to activate the card you sent me",
        ],
    ),
    "dispute_charge": (
        22,
        [
            "there's a charge from {merchant} I don't recognise",
            "I was charged twice by {merchant}",
            "I want to dispute a {amount} charge",
            "{merchant} charged me {amount} but I cancelled",
            "refund a wrong charge of {amount}",
        ],
    ),
    "report_fraud": (
        16,
        [
            "someone used my {card} without permission",
            "I see purchases I never made",
            "I think my account was hacked",
            "there are fraudulent transactions on my {acct} account",
            "I got a text asking for my PIN, is that a scam",
        ],
    ),
    "open_account": (
        12,
        [
            "I want to open a {acct} account",
            "how do I open a new account",
            "can I open a {acct} account online",
            "sign me up for a {acct} account",
        ],
    ),
    "close_account": (
        9,
        ["I want to close my {acct} account", "please close my account", "how do I shut down my {acct} account"],
    ),
    "increase_limit": (
        7,
        ["raise the limit on my {card}", "can I get a higher limit", "increase my {card} spending limit to {amount}"],
    ),
    "travel_notice": (
        5,
        [
            "I'm travelling to {country} next week",
            "just so you know, I'll be using my {card} in {country}",
            "set a travel notice for {country}",
        ],
    ),
}
INTENT_PREFIXES = ["", "", "", "hi, ", "hello, ", "hey there. ", "quick question: ", "good morning, "]
INTENT_SUFFIXES = ["", "", "", " please", " thanks", "?", " asap", " thank you!"]


def intent_rows(seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    for intent, (count, templates) in INTENTS.items():

        def make() -> dict:
            acct, acct2 = rng.sample(ACCOUNTS, 2)
            text = rng.choice(templates).format(
                acct=acct,
                acct2=acct2,
                card=rng.choice(CARDS),
                payee=rng.choice(PAYEES),
                amount=rng.choice(AMOUNTS),
                merchant=rng.choice(MERCHANTS),
                country=rng.choice(COUNTRIES),
            )
            return {"utterance": vary_case(rng, text, INTENT_PREFIXES, INTENT_SUFFIXES), "intent": intent}

        rows.extend(draw_unique(count, make, key=lambda row: row["utterance"]))
    rng.shuffle(rows)
    return [{"id": f"q{i + 1:04d}", "channel": rng.choice(["app", "web", "chat"]), **row} for i, row in enumerate(rows)]


def intent_lines() -> list[str]:
    lines = jsonl_lines(intent_rows())
    return insert_messy(
        lines,
        [
            (40, '{"id": "q9001", "channel": "app", "utterance": "how do I activate my new deb'),  # truncated
            (
                95,
                json.dumps(
                    {"id": "q9002", "channel": "web", "utterance": "I need help with my account", "intent": None}
                ),
            ),
            (150, json.dumps({"id": "q9003", "channel": "chat", "utterance": "   ", "intent": "check_balance"})),
            (210, lines[3]),  # exact duplicate of an earlier row
            (
                260,
                json.dumps(
                    {"id": "q9004", "channel": "app", "utterance": "Transfer $45 to Sam.", "intent": " transfer_money "}
                ),
            ),  # stray whitespace in the label: cleaned, kept
        ],
    )


# --- json_extract: order confirmation and invoice emails -> an order object -----------------------

SHOPS = [
    "Northwind Outfitters",
    "Blue Kettle Tea Co.",
    "Pixel & Paper",
    "Greenleaf Garden Supply",
    "Harbor Books",
    "Copperline Audio",
]
SHOP_PRODUCTS = [
    "linen shirt",
    "green tea tin",
    "sketchbook",
    "pruning shears",
    "paperback novel",
    "USB cable",
    "desk lamp",
    "ceramic mug",
    "rain jacket",
    "seed mix",
]
CURRENCIES = [("EUR", "€"), ("USD", "$"), ("GBP", "£")]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
COUPONS = ["SPRING10", "WELCOME5", "FREESHIP", "LOYAL15"]
NUMBER_WORDS = ["one", "two", "three", "four", "five", "six"]


def spoken_date(rng: random.Random, year: int, month: int, day: int) -> str:
    return rng.choice(
        [
            f"{year}-{month:02d}-{day:02d}",
            f"{day} {MONTHS[month - 1]} {year}",
            f"{MONTHS[month - 1]} {day}, {year}",
            f"{day:02d}/{month:02d}/{year}",
        ]
    )


def order_row(rng: random.Random) -> dict:
    first, last = person(rng)
    full, shop = f"{first} {last}", rng.choice(SHOPS)
    currency, symbol = rng.choice(CURRENCIES)
    year, month, day = rng.choice([2023, 2024]), rng.randint(1, 12), rng.randint(1, 28)
    date = spoken_date(rng, year, month, day)
    order_id = rng.choice(
        [
            f"A-{rng.randint(10000, 99999)}",
            f"#{rng.randint(10000, 99999)}",
            f"INV-{year}-{rng.randint(1, 9999):04d}",
            f"NW{rng.randint(100000, 999999)}",
        ]
    )
    coupon = rng.choice(COUPONS) if rng.random() < 0.3 else None
    style = rng.randrange(5)
    if style == 3:  # an itemised receipt: the count is the number of lines, the total their sum
        products = rng.sample(SHOP_PRODUCTS, rng.randint(1, 4))
        prices = [round(rng.uniform(3, 90), 2) for _ in products]
        count, total = len(products), round(sum(prices), 2)
        lines = "\n".join(f"  1 x {p:<16} {symbol}{price:.2f}" for p, price in zip(products, prices))
        coupon_line = f"\nCoupon: {coupon}" if coupon else ""
        email = (
            f"Receipt {order_id} | {shop} | {date}\nSold to: {full}\n{lines}\n"
            f"Total {symbol}{total:.2f}{coupon_line}\nThank you for your purchase."
        )
    else:
        count, total = rng.randint(1, 6), round(rng.uniform(5, 400), 2)
        items = f"{count} item" if count == 1 else rng.choice([f"{count} items", f"{NUMBER_WORDS[count - 1]} items"])
        coupon_sentence = f" Coupon {coupon} was applied." if coupon else ""
        email = [
            f"Hi {first},\n\nThanks for shopping with {shop}! Your order {order_id} was placed on {date}. It contains "
            f"{items} and comes to {symbol}{total:.2f} in total.{coupon_sentence}\n\nSee you soon,\nThe {shop} team",
            f"ORDER CONFIRMATION - {shop}\nCustomer: {full}\nOrder no.: {order_id}\nOrder date: {date}\n"
            f"Items: {count}\nTotal: {total:.2f} {currency}" + (f"\nCoupon code: {coupon}" if coupon else ""),
            f"Dear {full},\nplease find attached invoice {order_id} dated {date} for {items}. Amount due: "
            f"{currency} {total:.2f}.{coupon_sentence} Payment is due within 14 days.\nKind regards, {shop} billing",
            None,
            f"Fwd: your order\n\n> {shop} order {order_id} for {full} ({items}) has shipped. Order date {date}; "
            f"charged {total:.2f} {currency}.{coupon_sentence}\n\nCan you check this went through? thx",
        ][style]
    order = {
        "customer": full,
        "order_id": order_id,
        "date": f"{year}-{month:02d}-{day:02d}",
        "total": total,
        "currency": currency,
        "items_count": count,
    }
    if coupon:
        order["coupon"] = coupon
    return {"shop": shop, "email": email, "order": order}


def order_lines(n: int = 300, seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    rows = draw_unique(n, lambda: order_row(rng), key=lambda row: row["email"])
    lines = jsonl_lines([{"id": f"e{i + 1:04d}", **row} for i, row in enumerate(rows)])
    return insert_messy(
        lines,
        [
            (33, '{"id": "e9001", "shop": "Harbor Books", "email": "Hi Tom,\\n\\nThanks for shopping with Harbor'),
            (
                90,
                json.dumps(
                    {"id": "e9002", "shop": "Pixel & Paper", "email": "Your parcel is on its way.", "order": {}}
                ),
            ),
            (
                170,
                json.dumps(
                    {
                        "id": "e9003",
                        "shop": "Copperline Audio",
                        "email": None,
                        "order": {"customer": "Noah Chen", "total": 12.5},
                    }
                ),
            ),
            (240, lines[20]),  # exact duplicate of an earlier row
        ],
    )


# --- pii_spans: support messages with character spans of personal data, plus messages with none -----

PII_TEMPLATES = [
    "Hi, this is {PERSON}. Please call me back on {PHONE}.",
    "My new address is {ADDRESS}, can you update my account?",
    "You can reach me at {EMAIL} or {PHONE}.",
    "Order for {PERSON}, deliver to {ADDRESS}.",
    "Please send the invoice to {EMAIL}, attention {PERSON}.",
    "{PERSON} here - my parcel never arrived at {ADDRESS}.",
    "I'm writing on behalf of {PERSON} ({EMAIL}) about a refund.",
    "Contact: {PERSON}, {PHONE}, {EMAIL}",
    "The package was left with my neighbour {PERSON} at {ADDRESS} instead of with me.",
    "Can someone call {PHONE} before 5pm? Ask for {PERSON}.",
    "Please change my email from {EMAIL} to {EMAIL}.",
    "shipping address: {ADDRESS}\nphone: {PHONE}",
    "Thanks {PERSON}, your help yesterday was great!",
    "Hello, I placed an order yesterday and my email is {EMAIL}.",
    "Billing name {PERSON}; billing address {ADDRESS}.",
    "My husband {PERSON} will pick it up, his number is {PHONE}.",
]
NO_PII_TEMPLATES = [
    "My order {order} arrived damaged, what can I do?",
    "The blender costs {price} in the shop but {price2} online, why?",
    "Can you call me back tomorrow morning?",
    "I'd like to change my email address, how do I do that?",
    "Delivery was promised for {day} but nothing came.",
    "Please cancel order {order} and refund the {price}.",
    "Your phone line was busy all afternoon.",
    "The app keeps asking for my address even though it's saved.",
    "Tracking number {track} shows no updates since {day}.",
    "I paid {price} twice for the same item.",
    "How many days do I have to return a jacket?",
    "Is there a discount code for orders over {price}?",
]
PII_FILLERS = {"PERSON", "EMAIL", "PHONE", "ADDRESS"}


def pii_message(rng: random.Random, template: str) -> dict:
    """Fill the template left to right, recording each personal value as a character span."""
    text, entities = "", []
    for piece in re.split(r"\{([A-Z]+)\}", template):
        if piece not in PII_FILLERS:
            text += piece
            continue
        first, last = person(rng)
        value = {
            "PERSON": f"{first} {last}",
            "EMAIL": email_of(rng, first, last),
            "PHONE": phone(rng),
            "ADDRESS": street_address(rng),
        }[piece]
        entities.append({"start": len(text), "end": len(text) + len(value), "type": piece, "value": value})
        text += value
    return {"message": text, "entities": entities}


def no_pii_message(rng: random.Random) -> dict:
    price, price2 = sorted(rng.sample(range(9, 300), 2))
    text = rng.choice(NO_PII_TEMPLATES).format(
        order=f"{rng.randint(100000, 999999)}",
        price=f"${price}.99",
        price2=f"${price2}.99",
        day=f"{rng.choice(MONTHS)} {rng.randint(1, 28)}",
        track=f"TRK{rng.randint(10**8, 10**9 - 1)}",
    )
    return {"message": text, "entities": []}


def pii_lines(n: int = 300, no_pii_share: float = 0.25, seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    n_clean = round(n * no_pii_share)
    with_pii = draw_unique(n - n_clean, lambda: pii_message(rng, rng.choice(PII_TEMPLATES)), key=lambda r: r["message"])
    without = draw_unique(n_clean, lambda: no_pii_message(rng), key=lambda r: r["message"])
    rows = with_pii + without
    rng.shuffle(rows)
    lines = jsonl_lines([{"id": f"m{i + 1:04d}", **row} for i, row in enumerate(rows)])
    mismatch = pii_message(random.Random(1), "Hi, this is {PERSON}. Please call me back on {PHONE}.")
    mismatch["entities"][0]["value"] = mismatch["entities"][0]["value"].upper()  # stated text != text at the offsets
    out_of_bounds = pii_message(random.Random(2), "You can reach me at {EMAIL} or {PHONE}.")
    out_of_bounds["entities"][1]["end"] += 40
    return insert_messy(
        lines,
        [
            (25, '{"id": "m9001", "message": "Order for Grace Reyes, deliver to 14 Elm St'),  # truncated
            (80, json.dumps({"id": "m9002", **mismatch})),
            (140, json.dumps({"id": "m9003", **out_of_bounds})),
            (200, json.dumps({"id": "m9004", "message": "Please call me back on 555-0199.", "entities": None})),
            (260, lines[7]),  # exact duplicate of an earlier row
        ],
    )


# --- faq_rag: help-centre articles of a fictional e-bike subscription, questions covered or not ------

# article id -> (title, [(fact sentence, [questions it answers])])
FAQ_ARTICLES: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {
    "plans": (
        "Plans and prices",
        [
            (
                "The Standard plan costs 39 euros per month and includes a city e-bike.",
                ["How much is the Standard plan?", "What does the basic subscription cost per month?"],
            ),
            (
                "The Cargo plan costs 69 euros per month and includes a cargo e-bike with a child seat.",
                ["What does the Cargo plan cost?", "Is there a plan with a child seat?"],
            ),
            (
                "Students get 20 percent off any plan with a valid student card.",
                ["Do you have a student discount?", "How much do students save?"],
            ),
        ],
    ),
    "delivery": (
        "Delivery",
        [
            (
                "Bikes are delivered to your door within five working days of signing up.",
                ["How long does delivery take?", "When will my bike arrive after I sign up?"],
            ),
            (
                "Delivery is free in every city where Pedalwise operates.",
                ["Do I have to pay for delivery?", "Is delivery free?"],
            ),
            (
                "You can choose a two-hour delivery window in the app the day before delivery.",
                ["Can I pick a delivery time?", "How do I choose when the bike is delivered?"],
            ),
        ],
    ),
    "battery": (
        "Battery and charging",
        [
            (
                "A full charge takes about four hours from a normal wall socket.",
                ["How long does it take to charge the battery?", "How many hours for a full charge?"],
            ),
            (
                "On a full battery the bike rides 60 to 80 kilometres, depending on the assist level.",
                ["How far can I ride on one charge?", "What is the range of the bike?"],
            ),
            (
                "The battery can be removed with the bike key and charged indoors.",
                ["Can I take the battery out to charge it?", "Is the battery removable?"],
            ),
        ],
    ),
    "repairs": (
        "Repairs and maintenance",
        [
            (
                "Repairs and servicing are included in every plan at no extra cost.",
                ["Do I pay for repairs?", "Is maintenance included in the subscription?"],
            ),
            (
                "A mechanic visits you within 48 hours after you report a problem in the app.",
                ["How fast do you fix a broken bike?", "How long until a mechanic comes?"],
            ),
            (
                "Flat tyres are fixed on the spot during the mechanic's visit.",
                ["What happens if I get a flat tyre?", "Do you fix punctures?"],
            ),
        ],
    ),
    "theft": (
        "Theft and damage",
        [
            (
                "If your bike is stolen, report it to the police and upload the police report in the app within 48 hours.",
                ["What should I do if my bike is stolen?", "My bike was stolen, what now?"],
            ),
            (
                "With theft cover you pay a 60 euro excess for a stolen bike instead of its full value.",
                ["How much do I pay if the bike gets stolen?", "What is the theft excess?"],
            ),
            (
                "Theft cover costs 5 euros per month and can be added at any time.",
                ["How much is theft insurance?", "Can I add theft cover later?"],
            ),
        ],
    ),
    "cancelling": (
        "Pausing and cancelling",
        [
            (
                "You can cancel at any time in the app with one month's notice.",
                ["How do I cancel my subscription?", "What is the notice period for cancelling?"],
            ),
            (
                "You can pause your subscription for up to two months per year.",
                ["Can I pause my plan during the holidays?", "How long can I pause my subscription?"],
            ),
            (
                "After you cancel, we pick the bike up from your address at no cost.",
                ["Who collects the bike when I cancel?", "Do I need to return the bike myself after cancelling?"],
            ),
        ],
    ),
    "payment": (
        "Payment and invoices",
        [
            (
                "We accept credit cards, debit cards and SEPA direct debit.",
                ["Which payment methods do you accept?", "Can I pay by direct debit?"],
            ),
            (
                "Your card is charged on the first day of every month.",
                ["When am I charged each month?", "What day is the monthly payment taken?"],
            ),
            (
                "Invoices are available under Account > Invoices in the app.",
                ["Where can I find my invoices?", "How do I download an invoice?"],
            ),
        ],
    ),
    "cities": (
        "Where we operate",
        [
            (
                "Pedalwise operates in Amsterdam, Utrecht, Rotterdam and Antwerp.",
                ["Which cities are you available in?", "Do you operate in Rotterdam?"],
            ),
            (
                "If you move to another Pedalwise city, we move the bike with you for free.",
                ["Can I keep the bike when I move to another city?", "I'm moving to Utrecht, what happens to my bike?"],
            ),
            (
                "You may ride the bike abroad for up to 30 days in a row.",
                ["Can I take the bike abroad?", "Am I allowed to ride the bike on holiday in another country?"],
            ),
        ],
    ),
    "accessories": (
        "Accessories",
        [
            (
                "Every bike comes with two locks, lights and a phone holder.",
                ["Which accessories are included?", "Does the bike come with a lock?"],
            ),
            (
                "A rain cover for the child seat can be rented for 3 euros per month.",
                ["Do you have a rain cover for the child seat?", "How much is the rain cover?"],
            ),
            (
                "Helmets are not included, but members can buy one in the app at a discount.",
                ["Do you provide helmets?", "Is a helmet included?"],
            ),
        ],
    ),
    "account": (
        "Your account",
        [
            (
                "You can change your delivery address under Account > Address in the app.",
                ["How do I update my address?", "Where do I change my address?"],
            ),
            (
                "The account holder must be 18 or older to sign the contract.",
                ["How old do I need to be to subscribe?", "Is there a minimum age?"],
            ),
            (
                "Anyone in your household may ride the bike, but the account holder stays responsible for it.",
                ["Can my partner ride my bike too?", "Can someone else use my bike?"],
            ),
        ],
    ),
    "swaps": (
        "Swapping bikes",
        [
            (
                "You can swap to a different bike model once every three months for free.",
                ["Can I change to a different bike?", "How often can I swap my bike?"],
            ),
            (
                "Swaps are done at your door during a mechanic's visit.",
                ["How does a bike swap work?", "Do I have to bring my bike somewhere to swap it?"],
            ),
            (
                "Frame sizes S, M and L are available for every model.",
                ["Which frame sizes do you have?", "Is there a small frame size?"],
            ),
        ],
    ),
    "support": (
        "Contacting support",
        [
            (
                "The support chat in the app is open every day from 8:00 to 20:00.",
                ["When is customer support available?", "What are the support opening hours?"],
            ),
            (
                "For urgent breakdowns you can call the support line, which is open 24 hours a day.",
                ["Who do I call if my bike breaks down at night?", "Is there a 24-hour phone line?"],
            ),
            (
                "Complaints are answered within three working days.",
                ["How long does it take to answer a complaint?", "When will I hear back about my complaint?"],
            ),
        ],
    ),
}
# Questions the help centre does not answer, each with the article it is closest to (the decoy context).
FAQ_UNCOVERED = [
    ("plans", "Is there a family plan for four bikes?"),
    ("plans", "Can I pay for a whole year upfront?"),
    ("delivery", "Do you deliver on Sundays?"),
    ("delivery", "Can you deliver the bike to my office?"),
    ("battery", "Can I buy a second battery?"),
    ("battery", "Does cold weather reduce the range?"),
    ("repairs", "Can I get it fixed at a local bike shop and send you the bill?"),
    ("theft", "Does theft cover include my helmet?"),
    ("cancelling", "Do I get money back if I cancel mid-month?"),
    ("payment", "Can the invoice be made out to my company?"),
    ("cities", "When will you launch in Brussels?"),
    ("accessories", "Can I rent a trailer for the bike?"),
    ("account", "Can I merge two accounts?"),
    ("swaps", "Can I buy the bike when my subscription ends?"),
    ("support", "Is there a support email address?"),
    ("plans", "Do you offer electric scooters?"),
    ("battery", "What is the top speed of the bike?"),
    ("repairs", "Are the bikes waterproof?"),
    ("cities", "Can I take the bike on the train?"),
    ("accessories", "How much does the bike weigh?"),
    ("payment", "Do you have a loyalty programme?"),
    ("payment", "Can I buy a gift card?"),
    ("accessories", "Can I get a bike with a front basket?"),
    ("battery", "Which brand makes the motors?"),
]
FAQ_PREFIXES = ["", "", "Hi! ", "Quick question: ", "Hello, ", "Hey, "]
FAQ_SUFFIXES = ["", "", " Thanks.", " Thank you!", " Cheers"]


def faq_article_text(article_id: str) -> str:
    title, facts = FAQ_ARTICLES[article_id]
    return f"{title}. " + " ".join(fact for fact, _ in facts)


def faq_doc_rows() -> list[dict]:
    return [
        {"doc_id": doc_id, "title": title, "text": faq_article_text(doc_id)}
        for doc_id, (title, _) in FAQ_ARTICLES.items()
    ]


def faq_question_rows(variants: int = 3, uncovered_variants: int = 2, seed: int = 19) -> list[dict]:
    rng = random.Random(seed)
    base = [
        (doc_id, question, fact)
        for doc_id, (_, facts) in FAQ_ARTICLES.items()
        for fact, questions in facts
        for question in questions
    ]
    base += [(doc_id, question, "") for doc_id, question in FAQ_UNCOVERED]
    rows = []
    for doc_id, question, answer in base:

        def make() -> dict:
            return {
                "question": vary_case(rng, question, FAQ_PREFIXES, FAQ_SUFFIXES),
                "doc_id": doc_id,
                "article": faq_article_text(doc_id),
                "answer": answer,
                "unanswerable": answer == "",
            }

        rows.extend(draw_unique(variants if answer else uncovered_variants, make, key=lambda r: r["question"]))
    rng.shuffle(rows)
    return [{"id": f"f{i + 1:04d}", **row} for i, row in enumerate(rows)]


def faq_question_lines() -> list[str]:
    lines = jsonl_lines(faq_question_rows())
    return insert_messy(
        lines,
        [
            (30, '{"id": "f9001", "question": "How long does delivery take?", "doc_id": "delivery", "article": "Deliv'),
            (
                85,
                json.dumps(
                    {
                        "id": "f9002",
                        "question": " ",
                        "doc_id": "plans",
                        "article": faq_article_text("plans"),
                        "answer": "",
                        "unanswerable": True,
                    }
                ),
            ),
            (
                140,
                json.dumps(
                    {
                        "id": "f9003",
                        "question": "Is delivery free?",
                        "doc_id": "delivery",
                        "article": None,
                        "answer": "Delivery is free in every city where Pedalwise operates.",
                        "unanswerable": False,
                    }
                ),
            ),
            (
                190,
                json.dumps(
                    {
                        "id": "f9004",
                        "question": "Do you have gift wrapping?",
                        "doc_id": "accessories",
                        "article": faq_article_text("accessories"),
                        "answer": "",
                        "unanswerable": "maybe",
                    }
                ),
            ),
            (230, lines[5]),  # exact duplicate of an earlier row
        ],
    )


# --- tool_call: chats with a few tools (JSON-schema parameters); calls, results, direct answers -------

TIME_PATTERN = "^[0-2][0-9]:[0-5][0-9]$"
TOOLS: dict[str, dict] = {
    "get_weather": {
        "description": "Current weather and today's forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Lisbon"},
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": "Temperature unit (default celsius)",
                },
            },
            "required": ["city"],
        },
    },
    "convert_currency": {
        "description": "Convert an amount of money from one currency to another at today's rate.",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number", "description": "Amount to convert"},
                "from_currency": {"type": "string", "description": "ISO 4217 code of the source currency, e.g. USD"},
                "to_currency": {"type": "string", "description": "ISO 4217 code of the target currency, e.g. EUR"},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
    },
    "create_reminder": {
        "description": "Schedule a reminder for today at a given time.",
        "parameters": {
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "What to be reminded of"},
                "time": {"type": "string", "pattern": TIME_PATTERN, "description": "24-hour time HH:MM"},
            },
            "required": ["text", "time"],
        },
    },
    "search_orders": {
        "description": "Find a customer's orders, optionally only those with a given status.",
        "parameters": {
            "type": "object",
            "properties": {
                "customer_email": {"type": "string", "description": "The customer's e-mail address"},
                "status": {"type": "string", "enum": ["open", "shipped", "delivered", "cancelled"]},
            },
            "required": ["customer_email"],
        },
    },
    "book_table": {
        "description": "Reserve a table at a restaurant.",
        "parameters": {
            "type": "object",
            "properties": {
                "restaurant": {"type": "string"},
                "date": {"type": "string", "description": "YYYY-MM-DD"},
                "time": {"type": "string", "pattern": TIME_PATTERN, "description": "24-hour time HH:MM"},
                "party_size": {"type": "integer", "minimum": 1, "maximum": 12},
            },
            "required": ["restaurant", "date", "time", "party_size"],
        },
    },
    "calculate_tip": {
        "description": "Work out the tip and the total for a restaurant bill.",
        "parameters": {
            "type": "object",
            "properties": {
                "bill": {"type": "number", "description": "Bill amount before the tip"},
                "percent": {"type": "number", "description": "Tip percentage, e.g. 15"},
            },
            "required": ["bill", "percent"],
        },
    },
}
WEATHER_CITIES = ["Lisbon", "Oslo", "Nairobi", "Denver", "Osaka", "Toronto", "Cape Town", "Hanoi", "Lima", "Krakow"]
CURRENCY_NAMES = {
    "USD": "US dollars",
    "EUR": "euros",
    "GBP": "pounds",
    "JPY": "yen",
    "CAD": "Canadian dollars",
    "CHF": "Swiss francs",
}
REMINDER_TASKS = [
    "call the dentist",
    "water the plants",
    "pay the electricity bill",
    "pick up the kids",
    "submit the report",
    "take my medication",
    "book the car service",
    "send the birthday card",
]
RESTAURANTS = ["Luna Trattoria", "The Green Fork", "Sakura House", "Casa Miro", "Blue Harbour Grill", "Olive & Thyme"]
STATUS_WORDS = {
    "open": "are still open",
    "shipped": "have shipped",
    "delivered": "were delivered",
    "cancelled": "were cancelled",
}
WEATHER = ["sunny", "light rain", "overcast", "snow showers", "clear skies", "strong wind"]
# Requests no offered tool can serve, and chit-chat: the assistant answers directly.
UNFIT_REQUESTS = [
    "Order me a taxi to the airport.",
    "Send an email to my boss saying I'm running late.",
    "Play some jazz in the living room.",
    "Turn off the kitchen lights.",
    "Book me a flight to Rome on Friday.",
    "Buy two tickets for tonight's concert.",
    "Translate 'good morning' into Italian.",
    "Write a short poem about the sea.",
]
NO_TOOL_ANSWER = "None of the available tools can do that."
SMALL_TALK = [
    ("Hi there!", "Hello! What can I do for you?"),
    ("Thanks, that's all.", "You're welcome, have a nice day!"),
    ("Good morning", "Good morning! How can I help?"),
    ("You're very helpful.", "Thank you, happy to help!"),
]
CLARIFY = [
    (
        "book_table",
        "Can you book a table for me?",
        "Sure - which restaurant, on what date and time, and for how many people?",
    ),
    ("create_reminder", "Set a reminder for me.", "Of course - what should I remind you of, and at what time?"),
    (
        "convert_currency",
        "I need to convert some money.",
        "Happy to help - how much, and from which currency to which?",
    ),
]


def clock(rng: random.Random) -> tuple[str, str]:
    """A time as the 24-hour argument and as a person might write it."""
    hour, minute = rng.randint(7, 22), rng.choice([0, 15, 30, 45])
    value = f"{hour:02d}:{minute:02d}"
    twelve = f"{hour % 12 or 12}{'' if minute == 0 else f':{minute:02d}'} {'am' if hour < 12 else 'pm'}"
    return value, rng.choice([value, twelve])


def tool_request(rng: random.Random, tool: str) -> tuple[str, dict, dict, str]:
    """(user request, call arguments, tool result, the final answer given that result) for ``tool``."""
    if tool == "get_weather":
        city, temp, sky = rng.choice(WEATHER_CITIES), rng.randint(-5, 33), rng.choice(WEATHER)
        form = rng.randrange(4)
        args = {"city": city, **({"unit": ["fahrenheit", "celsius"][form - 2]} if form >= 2 else {})}
        text = [
            f"What's the weather like in {city}?",
            f"Is it going to rain in {city} today?",
            f"How warm is it in {city} right now, in fahrenheit?",
            f"Give me the temperature in {city} in celsius.",
        ][form]
        if args.get("unit") == "fahrenheit":
            temp = round(temp * 9 / 5 + 32)
        unit = "°F" if args.get("unit") == "fahrenheit" else "°C"
        return (
            text,
            args,
            {"city": city, "temperature": temp, "condition": sky},
            f"It is {temp}{unit} with {sky} in {city}.",
        )
    if tool == "convert_currency":
        amount = rng.choice([20, 75, 120, 250, 1000, 49.99, 8.5])
        source, target = rng.sample(sorted(CURRENCY_NAMES), 2)
        converted = round(amount * rng.uniform(0.6, 1.6), 2)
        text = rng.choice(
            [
                f"Convert {amount} {source} to {target}.",
                f"How much is {amount} {source} in {target}?",
                f"I have {amount} {CURRENCY_NAMES[source]}, what's that in {CURRENCY_NAMES[target]}?",
            ]
        )
        args = {"amount": amount, "from_currency": source, "to_currency": target}
        return (
            text,
            args,
            {"amount": converted, "currency": target},
            f"{amount} {source} is about {converted} {target}.",
        )
    if tool == "create_reminder":
        task, (value, spoken) = rng.choice(REMINDER_TASKS), clock(rng)
        text = rng.choice(
            [
                f"Remind me to {task} at {spoken}.",
                f"Set a reminder at {spoken} to {task}.",
                f"Can you remind me at {spoken} that I need to {task}?",
            ]
        )
        result = {"id": f"rem-{rng.randint(100, 999)}", "status": "scheduled"}
        return text, {"text": task, "time": value}, result, f"Done - I'll remind you to {task} at {value}."
    if tool == "search_orders":
        first, last = person(rng)
        email, status = email_of(rng, first, last), rng.choice(sorted(STATUS_WORDS))
        form = rng.randrange(3)
        text = [
            f"Find the orders for {email}.",
            f"Which orders of {email} {STATUS_WORDS[status]}?",
            f"Look up {status} orders for customer {email}.",
        ][form]
        args = {"customer_email": email, **({"status": status} if form else {})}
        found = [f"A-{rng.randint(10000, 99999)}" for _ in range(rng.randint(0, 3))]
        answer = (
            f"I found {len(found)} order(s) for {email}: {', '.join(found)}."
            if found
            else f"There are no matching orders for {email}."
        )
        return text, args, {"orders": found}, answer
    if tool == "book_table":
        place, (value, spoken), size = rng.choice(RESTAURANTS), clock(rng), rng.randint(2, 8)
        date = f"2024-{rng.randint(5, 9):02d}-{rng.randint(1, 28):02d}"
        text = rng.choice(
            [
                f"Book a table at {place} for {size} people on {date} at {spoken}.",
                f"Can you reserve {place} on {date}, {spoken}, party of {size}?",
                f"We are {size}, please get us a table at {place} at {spoken} on {date}.",
            ]
        )
        reference = f"BK{rng.randint(1000, 9999)}"
        args = {"restaurant": place, "date": date, "time": value, "party_size": size}
        return (
            text,
            args,
            {"confirmed": True, "reference": reference},
            f"Your table at {place} for {size} is booked on {date} at {value} (reference {reference}).",
        )
    bill, percent = rng.choice([23.5, 48, 86.4, 120, 15.75, 64.2, 210]), rng.choice([10, 12, 15, 18, 20])
    tip = round(bill * percent / 100, 2)
    text = rng.choice(
        [
            f"What's a {percent}% tip on {bill}?",
            f"Our bill is {bill}; how much should I tip at {percent} percent?",
            f"Calculate a {percent} percent tip for a {bill} bill.",
        ]
    )
    return (
        text,
        {"bill": bill, "percent": percent},
        {"tip": tip, "total": round(bill + tip, 2)},
        f"A {percent}% tip on {bill} is {tip}, so {round(bill + tip, 2)} in total.",
    )


def offered_tools(rng: random.Random, must: str | None) -> list[dict]:
    """The gold tool (if any) plus one to three others, in random order, in OpenAI's tools format."""
    others = [name for name in sorted(TOOLS) if name != must]
    names = ([must] if must else []) + rng.sample(others, rng.randint(1, 3) if must else rng.randint(2, 3))
    rng.shuffle(names)
    return [{"type": "function", "function": {"name": name, **TOOLS[name]}} for name in names]


def call_message(call_id: str, tool: str, args: dict) -> dict:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": call_id, "type": "function", "function": {"name": tool, "arguments": json.dumps(args)}}],
    }


def tool_chat(rng: random.Random, kind: str) -> dict:
    if kind == "unfit":
        return {
            "messages": [
                {"role": "user", "content": rng.choice(UNFIT_REQUESTS)},
                {"role": "assistant", "content": NO_TOOL_ANSWER},
            ],
            "tools": offered_tools(rng, None),
        }
    if kind == "small_talk":
        said, reply = rng.choice(SMALL_TALK)
        return {
            "messages": [{"role": "user", "content": said}, {"role": "assistant", "content": reply}],
            "tools": offered_tools(rng, None),
        }
    if kind == "clarify":
        tool, said, reply = rng.choice(CLARIFY)
        return {
            "messages": [{"role": "user", "content": said}, {"role": "assistant", "content": reply}],
            "tools": offered_tools(rng, tool),
        }
    tool = rng.choice(sorted(TOOLS))
    text, args, result, answer = tool_request(rng, tool)
    messages = [{"role": "user", "content": text}, call_message("call_1", tool, args)]
    if kind == "call_and_answer":
        messages += [
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(result)},
            {"role": "assistant", "content": answer},
        ]
    return {"messages": messages, "tools": offered_tools(rng, tool)}


def tool_lines(seed: int = 23) -> list[str]:
    rng = random.Random(seed)
    counts = {"call": 190, "call_and_answer": 60, "unfit": 26, "clarify": 12, "small_talk": 12}
    rows: list[dict] = []
    for kind, count in counts.items():
        rows.extend(
            draw_unique(
                count,
                lambda: tool_chat(rng, kind),
                key=lambda r: json.dumps([r["messages"], [t["function"]["name"] for t in r["tools"]]]),
            )
        )
    rng.shuffle(rows)
    lines = jsonl_lines([{"id": f"t{i + 1:04d}", **row} for i, row in enumerate(rows)])
    broken_args = tool_chat(random.Random(3), "call")
    broken_args["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"city": "Oslo"'  # cut-off JSON
    return insert_messy(
        lines,
        [
            (20, '{"id": "t9001", "messages": [{"role": "user", "content": "Convert 20 USD to EUR."}, {"role": "assi'),
            (75, json.dumps({"id": "t9002", **broken_args})),
            (
                130,
                json.dumps(
                    {
                        "id": "t9003",
                        "messages": [
                            {"role": "user", "content": "What's the weather like in Oslo?"},
                            call_message("call_1", "get_weather", {"city": "Oslo"}),
                        ],
                    }
                ),
            ),
            (210, lines[9]),  # exact duplicate of an earlier row
        ],
    )


# --- writing -----------------------------------------------------------------------------------------


def sentiment_lines() -> list[str]:
    lines = jsonl_lines(sentiment_rows())
    # Messy rows, as real exports have them: each is rejected or de-duplicated with a reason.
    lines.insert(57, '{"id": "r9001", "product": "laptop", "review": "The screen is superb and')  # truncated
    lines.insert(120, json.dumps({"id": "r9002", "product": "hotel stay", "review": "The room was fine."}))
    lines.insert(200, lines[10])  # exact duplicate of an earlier row
    lines.insert(260, json.dumps({"id": "r9003", "product": "laptop", "review": 4.5, "rating": "positive"}))
    return lines


EXAMPLE_FILES = {
    "sentiment_reviews.jsonl": sentiment_lines,
    "intent_requests.jsonl": intent_lines,
    "order_emails.jsonl": order_lines,
    "pii_messages.jsonl": pii_lines,
    "faq_docs.jsonl": lambda: jsonl_lines(faq_doc_rows()),
    "faq_questions.jsonl": faq_question_lines,
    "tool_chats.jsonl": tool_lines,
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make_lines in EXAMPLE_FILES.items():
        lines = make_lines()
        (OUT / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(lines)} lines to {OUT / name}")


if __name__ == "__main__":
    main()
