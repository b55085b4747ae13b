"""The Stripe half of sdk_checks.py: the official `stripe` SDK against the fake Stripe server and the
events it builds. Run through sdk_checks.py, which lists the modes.

Besides the values a check reads, every object the SDK parses is held to the SDK's own types: a field
they don't name, or a value not of the named type, fails (`strays`), so the fake cannot drift from
the shapes of the API version the SDK pins.
"""
import json
import time
import typing
import urllib.error
import urllib.request
from decimal import Decimal

import stripe
from stripe import StripeObject

from sdk_checks import check, raises

# What the billing checks subscribe with; the events checks read them back from the fake's events.
CUSTOMER = "cus_sdk"
SUBSCRIPTION_METADATA = {"user_id": "user_42", "plan_id": "pro"}
DAY = 86_400


def declared(cls):
    """The public fields the SDK's class declares, with their types (inherited ones included)."""
    hints = {}
    for klass in reversed(cls.__mro__):
        hints.update(vars(klass).get("__annotations__", {}))
    return {name: hint for name, hint in hints.items()
            if not name.startswith("_") and name != "OBJECT_NAME" and typing.get_origin(hint) is not typing.ClassVar}


def conforms(value, hint):
    """Whether a JSON value fits an SDK annotation: Optional, Literal, ExpandableField, lists, nested objects."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any or isinstance(hint, (typing.TypeVar, typing.ForwardRef)):
        return True  # an expanded object: `strays` checks it against its own class
    if origin is typing.Union:
        return any(conforms(value, arm) for arm in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    klass = origin or hint
    if not isinstance(klass, type):
        return True
    if klass is list:
        return isinstance(value, list) and (not args or all(conforms(item, args[0]) for item in value))
    if issubclass(klass, (dict, StripeObject)):
        return isinstance(value, (dict, StripeObject))
    if klass is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if klass is Decimal:
        return isinstance(value, (str, Decimal))
    return isinstance(value, klass)


def strays(obj, path=""):
    """The fields of a parsed object (and of the objects in it) its SDK class doesn't name or types otherwise."""
    hints = declared(type(obj))
    found = []
    for key, value in obj.to_dict(recursive=False).items():
        where = f"{path}.{key}" if path else key
        # Untyped maps (metadata, payload) name no fields; every object names its `object`.
        if hints and key != "object" and key not in hints:
            found.append(f"{where} (not a field of {type(obj).__name__})")
        elif key in hints and not conforms(value, hints[key]):
            found.append(f"{where}={value!r} (not {hints[key]})")
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, StripeObject):
                found += strays(item, f"{where}[{index}]" if isinstance(value, list) else where)
    return found


def check_shape(name, obj):
    found = strays(obj)
    check(f"{name}: every field is the SDK's", not found, f"{found} in {obj}")


def pay_on_hosted_page(session):
    """Submits the fake's hosted checkout form, as a browser would, without following its redirect."""
    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    try:
        urllib.request.build_opener(Stay).open(urllib.request.Request(session.url, data=b"", method="POST"))
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Location")
    return None, None


def check_stripe_fake(base):
    client = stripe.StripeClient("sk_test_123", base_addresses={"api": base})
    product = client.v1.products.create(params={"name": "X", "metadata": {"model_id": "m"}}, options={"idempotency_key": "k1"})
    again = client.v1.products.create(params={"name": "X", "metadata": {"model_id": "m"}}, options={"idempotency_key": "k1"})
    check("stripe product idempotent", product.id == again.id and product.metadata["model_id"] == "m")
    check_shape("stripe product", product)
    price = client.v1.prices.create(params={"product": product.id, "unit_amount": 499, "currency": "usd"})
    check("stripe price", price.unit_amount == 499 and price.type == "one_time" and price.recurring is None)
    check_shape("stripe price", price)
    listed = client.v1.prices.list(params={"product": product.id, "active": True})
    check("stripe list", [p.id for p in listed.data] == [price.id])
    retired = client.v1.prices.update(price.id, params={"active": False})
    check("stripe deactivate", retired.active is False)
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment", "line_items": [{"price": price.id, "quantity": 1}], "client_reference_id": "user_42",
        "success_url": "https://app.example/ok?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "https://app.example/no",
        "metadata": {"model_id": "m", "user_id": "user_42"}})
    check("stripe session", session.object == "checkout.session" and "/pay/cs_test_" in session.url
          and session.metadata["user_id"] == "user_42" and session.success_url.endswith("{CHECKOUT_SESSION_ID}"))
    check_shape("stripe session", session)
    status, location = pay_on_hosted_page(session)
    paid = client.v1.checkout.sessions.retrieve(session.id)
    check("stripe paid session", (status, location) == (303, f"https://app.example/ok?session_id={session.id}") and paid.status == "complete"
          and paid.payment_status == "paid" and paid.payment_intent.startswith("pi_") and paid.amount_total == 499 and paid.subscription is None,
          f"{status} {location} {paid}")
    error = raises(lambda: client.v1.prices.update("price_missing", params={"active": False}), stripe.InvalidRequestError)
    check("stripe 404 → InvalidRequestError", error.code == "resource_missing")


def check_stripe_fake_billing(base):
    """Plans: recurring and metered prices, subscription checkout, the subscription, the portal, meter events."""
    client = stripe.StripeClient("sk_test_123", base_addresses={"api": base})
    product = client.v1.products.create(params={"name": "Pro", "metadata": {"plan_id": "pro"}})
    monthly = client.v1.prices.create(params={
        "product": product.id, "unit_amount": 1900, "currency": "usd", "recurring": {"interval": "month"}, "metadata": {"plan_id": "pro"}})
    check("stripe recurring price", monthly.type == "recurring" and monthly.recurring.interval == "month"
          and monthly.recurring.interval_count == 1 and monthly.recurring.usage_type == "licensed" and monthly.unit_amount == 1900, str(monthly))
    check_shape("stripe recurring price", monthly)
    metered = client.v1.prices.create(params={
        "product": product.id, "unit_amount": 1, "currency": "usd", "recurring": {"interval": "month", "usage_type": "metered", "meter": "mtr_sdk"}})
    check("stripe metered price", metered.recurring.usage_type == "metered" and metered.recurring.meter == "mtr_sdk", str(metered))
    listed = client.v1.prices.list(params={"product": product.id, "active": True})
    check("stripe list recurring", [(p.id, p.recurring.interval) for p in listed.data] == [(monthly.id, "month"), (metered.id, "month")])
    check_shape("stripe price list", listed)

    def subscribe(**extra):
        return client.v1.checkout.sessions.create(params={
            "mode": "subscription", "line_items": [{"price": monthly.id, "quantity": 1}, {"price": metered.id}],
            "success_url": "https://app.example/ok?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "https://app.example/no",
            "client_reference_id": "user_42", "metadata": {"user_id": "user_42"}, **extra})
    session = subscribe(customer=CUSTOMER, subscription_data={"metadata": SUBSCRIPTION_METADATA, "trial_period_days": 7})
    check("stripe subscription session", session.mode == "subscription" and session.status == "open" and session.subscription is None
          and session.customer == CUSTOMER and "/pay/cs_test_" in session.url, str(session))
    check_shape("stripe subscription session", session)

    status, location = pay_on_hosted_page(session)
    paid = client.v1.checkout.sessions.retrieve(session.id)
    check("stripe paid subscription session", (status, location) == (303, f"https://app.example/ok?session_id={session.id}")
          and paid.status == "complete" and paid.payment_status == "no_payment_required" and paid.customer == CUSTOMER
          and paid.subscription.startswith("sub_") and paid.invoice.startswith("in_"), f"{status} {location} {paid}")
    check_shape("stripe paid subscription session", paid)

    subscription = client.v1.subscriptions.retrieve(paid.subscription)
    plan, usage = subscription["items"].data
    check("stripe subscription", subscription.status == "trialing" and subscription.cancel_at_period_end is False
          and subscription.customer == CUSTOMER and subscription.metadata.to_dict() == SUBSCRIPTION_METADATA, str(subscription))
    check("stripe subscription items", plan.price.id == monthly.id and plan.quantity == 1 and usage.price.id == metered.id
          and plan.current_period_end - plan.current_period_start == 7 * DAY and plan.subscription == subscription.id, str(subscription))
    check_shape("stripe subscription", subscription)
    error = raises(lambda: client.v1.subscriptions.retrieve("sub_missing"), stripe.InvalidRequestError)
    check("stripe missing subscription → InvalidRequestError", error.code == "resource_missing" and error.http_status == 404, str(error))

    portal = client.v1.billing_portal.sessions.create(params={"customer": CUSTOMER, "return_url": "https://app.example/account"})
    check("stripe portal session", portal.object == "billing_portal.session" and portal.customer == CUSTOMER
          and portal.return_url == "https://app.example/account" and "/portal/" in portal.url, str(portal))
    check_shape("stripe portal session", portal)
    with urllib.request.urlopen(portal.url) as page:
        check("stripe portal page", CUSTOMER in page.read().decode())

    check_meter_events(client)
    # For the events checks: the subscription paid here, its plan price, and a session left for the fake to complete.
    unpaid = subscribe(subscription_data={"metadata": SUBSCRIPTION_METADATA})
    print(f"ids {subscription.id} {monthly.id} {unpaid.id}")


def check_meter_events(client):
    params = {"event_name": "modelgate_tokens", "payload": {"stripe_customer_id": CUSTOMER, "value": "12"},
              "identifier": "call_1", "timestamp": int(time.time())}
    event = client.v1.billing.meter_events.create(params=params, options={"idempotency_key": "meter-call_1"})
    check("stripe meter event", event.object == "billing.meter_event" and event.identifier == "call_1" and event.event_name == "modelgate_tokens"
          and event.payload.to_dict() == params["payload"] and event.timestamp == params["timestamp"], str(event))
    check_shape("stripe meter event", event)
    error = raises(lambda: client.v1.billing.meter_events.create(params=params, options={"idempotency_key": "meter-call_1-again"}),
                   stripe.InvalidRequestError)
    check("stripe duplicate meter identifier → InvalidRequestError", error.http_status == 400, str(error))
    replay = client.v1.billing.meter_events.create(params=params, options={"idempotency_key": "meter-call_1"})
    check("stripe meter event idempotent replay", replay.to_dict() == event.to_dict(), str(replay))


# The SDK class of each event's object, by the event type's prefix.
EVENT_OBJECTS = {"checkout.session.": stripe.checkout.Session, "customer.subscription.": stripe.Subscription,
                 "invoice.": stripe.Invoice, "charge.dispute.": stripe.Dispute, "charge.": stripe.Charge}


def check_stripe_events(events_file, secret, subscription, price):
    """Events the fake builds, signed by us, read with the SDK: each in its SDK class and its fields."""
    with open(events_file, encoding="utf-8") as f:
        sent = json.load(f)
    seen = []
    for item in sent:
        event = stripe.Webhook.construct_event(item["payload"], item["header"], secret)
        name = f"stripe event {event.type} {event.id}"
        klass = next(klass for prefix, klass in EVENT_OBJECTS.items() if event.type.startswith(prefix))
        check(f"{name} parses", isinstance(event, stripe.Event) and isinstance(event.data.object, klass), str(type(event.data.object)))
        check_shape(name, event)
        check_event_object(name, event.type, event.data.object, subscription, price)
        seen.append(event.type)
    print(f"types {' '.join(seen)}")


def check_event_object(name, kind, obj, subscription, price):
    if kind.startswith("customer.subscription."):
        item = obj["items"].data[0]
        check(f"{name} fields", obj.id.startswith("sub_") and obj.customer.startswith("cus_") and item.price.id == price
              and item.current_period_start < item.current_period_end and item.subscription == obj.id
              and obj.metadata.to_dict() == SUBSCRIPTION_METADATA and isinstance(obj.cancel_at_period_end, bool), str(obj))
        if kind == "customer.subscription.updated":
            check(f"{name} ends at the period's end", obj.id == subscription and obj.cancel_at_period_end is True and obj.customer == CUSTOMER)
        if kind == "customer.subscription.deleted":
            check(f"{name} canceled", obj.id == subscription and obj.status == "canceled" and obj.ended_at is not None, str(obj))
    elif kind.startswith("invoice."):
        details, line = obj.parent.subscription_details, obj.lines.data[0]
        paid = kind == "invoice.paid"
        check(f"{name} fields", obj.parent.type == "subscription_details" and details.subscription == subscription
              and details.metadata.to_dict() == SUBSCRIPTION_METADATA and obj.customer == CUSTOMER
              and line.period.start < line.period.end and line.pricing.price_details.price == price and obj.amount_due > 0
              and obj.amount_paid == (obj.amount_due if paid else 0) and obj.status == ("paid" if paid else "open"), str(obj))
    elif kind == "checkout.session.completed":
        check(f"{name} fields", obj.status == "complete" and obj.payment_status == "paid" and obj.metadata["user_id"]
              and (obj.subscription.startswith("sub_") and obj.customer.startswith("cus_") if obj.mode == "subscription"
                   else obj.payment_intent.startswith("pi_")), str(obj))
    elif kind == "charge.refunded":
        check(f"{name} fields", obj.refunded is True and obj.amount_refunded == obj.amount and obj.payment_intent.startswith("pi_"), str(obj))
    elif kind.startswith("charge.dispute."):
        check(f"{name} fields", obj.charge.startswith("ch_") and obj.payment_intent.startswith("pi_") and obj.status, str(obj))


def stripe_sign(payload_file, secret, timestamp):
    payload = open(payload_file, encoding="utf-8").read()
    print(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=int(timestamp)))


def stripe_encoding(body_file, params_file):
    """Our client's form body decodes to the very pairs the SDK makes of the same nested params."""
    from urllib.parse import parse_qsl, urlencode
    from stripe._encode import _api_encode
    with open(body_file) as f:
        ours = parse_qsl(f.read(), keep_blank_values=True, strict_parsing=True)
    with open(params_file) as f:
        params = json.load(f)
    sdk = parse_qsl(urlencode(list(_api_encode(params))), keep_blank_values=True)
    check("stripe form encoding matches the SDK's", ours == sdk, f"ours {ours} != sdk {sdk}")


def stripe_verify(payload_file, header, secret):
    payload = open(payload_file, encoding="utf-8").read()
    event = stripe.Webhook.construct_event(payload, header, secret, tolerance=None)
    check("stripe verifies our signature", event.id is not None)
