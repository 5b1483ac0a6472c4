# Customer-facing words. Keys are shared by every language; a unit test checks that each
# language has every key.

## Where a parcel is, in words a customer understands.

status-info-received = Label created, waiting for the carrier
status-picked-up = Picked up by the carrier
status-in-transit = On its way
status-out-for-delivery = Out for delivery
status-delivery-failed = Delivery attempt failed
status-available-for-pickup = Ready to collect
status-delivered = Delivered
status-exception = Delayed
status-return-to-origin = Returning to the sender
status-returned = Returned to the sender
status-cancelled = Shipment cancelled

## Why a delivery attempt failed.

ndr-customer-unavailable = Nobody was available to receive the parcel
ndr-address-issue = The address could not be found or is incomplete
ndr-refused = The parcel was refused on delivery
ndr-cod-not-ready = The cash-on-delivery payment was not ready
ndr-premises-closed = The delivery address was closed
ndr-rescheduled-by-customer = You asked for delivery on another day
ndr-out-of-service-area = The address is outside the carrier's delivery area
ndr-other = The carrier could not complete the delivery

## Short names of the moments customers are told about (settings screens, subjects).

milestone-booked = Shipped
milestone-picked-up = Picked up
milestone-out-for-delivery = Out for delivery
milestone-delivery-failed = Delivery failed
milestone-available-for-pickup = Ready to collect
milestone-delivered = Delivered
milestone-exception = Delayed
milestone-return-to-origin = Returning to sender
milestone-cancelled = Cancelled
milestone-information-needed = Detail needed

## A plausible shipment for template previews.

sample-customer-name = Emma Clarke
sample-store-name = Northwind Goods
sample-carrier = UPS
sample-item-shirt = Cotton T-shirt, navy, M
sample-item-mug = Ceramic mug
sample-edd = Friday 14 March
sample-pickup-point = Post Office, 24 High Street, Bristol BS1 2AW

info-field-postal_code = your postcode
info-field-phone = your phone number
info-field-street = your street address (street and number)
info-field-city = your town or city
info-field-name = the recipient's name
