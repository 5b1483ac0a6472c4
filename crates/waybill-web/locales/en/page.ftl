lang-name = English
language = Language
page-title = Track your parcel
tracking-number = Tracking number
status-heading = Current status

status-info_received = Preparing to ship
status-picked_up = Picked up by the carrier
status-in_transit = On its way
status-out_for_delivery = Out for delivery
status-delivery_failed = Delivery attempt unsuccessful
status-available_for_pickup = Ready for collection
status-delivered = Delivered
status-exception = Delivery problem
status-return_to_origin = Returning to sender
status-returned = Returned to sender
status-cancelled = Shipment cancelled

notice-delivery_failed = The carrier tried to deliver your parcel but could not. They usually try again on the next working day.
notice-exception = Something unexpected is holding up your parcel. The carrier is on it: check back later or contact the store.
notice-return_to_origin = Your parcel is on its way back to the store. Please contact the store if you still want it.
notice-returned = Your parcel has been returned to the store.
notice-cancelled = This shipment was cancelled. Please contact the store if you have any questions.
ndr-reason = Reason: { $reason }

ndr-customer_unavailable = Nobody was available to receive the parcel
ndr-address_issue = The address was incomplete or could not be found
ndr-refused = The parcel was refused
ndr-cod_not_ready = The payment due on delivery was not ready
ndr-premises_closed = The premises were closed
ndr-rescheduled_by_customer = Delivery was rescheduled at your request
ndr-out_of_service_area = The address is outside the carrier's delivery area
ndr-other = The carrier gave another reason

progress-label = Delivery progress
milestone-ordered = Ordered
milestone-picked_up = Picked up
milestone-in_transit = In transit
milestone-out_for_delivery = Out for delivery
milestone-delivered = Delivered

estimated-delivery = Estimated delivery
timeline-heading = Tracking history
timeline-local-time = Times are shown in the local time of each scan.
timeline-empty = No updates yet. Please check back a little later.
carrier = Carrier
track-with-carrier = Track with { $carrier }

details-show = Show delivery details
proof-label = Destination postcode or the last 4 digits of your phone
proof-help = We ask for this so that only the recipient can see the delivery address and items.
proof-submit = Show details
proof-error = This does not match this shipment. Please check it and try again.
details-heading = Delivery details
details-recipient = Recipient
details-address = Delivery address
details-items = Items
item-line = { $quantity } × { $name }

not-found-title = We could not find this tracking number
not-found-body = Please check the number and try again. A new shipment can take a few hours to appear.
search-heading = Track another parcel
search-label = Tracking number
search-submit = Track
rate-limited-title = Too many requests
rate-limited-body = Please wait a minute, then try again.
form-error-title = The form could not be read
form-error-body = Please go back to the tracking page and try again.

unsubscribe-title = Unsubscribe
unsubscribe-email-body = Stop delivery emails from { $store } to { $recipient }?
unsubscribe-sms-body = Stop delivery text messages from { $store } to { $recipient }?
unsubscribe-submit = Unsubscribe
unsubscribed-title = You are unsubscribed
unsubscribed-email-body = { $store } will send no more delivery emails to { $recipient }.
unsubscribed-sms-body = { $store } will send no more delivery text messages to { $recipient }.
unsubscribe-unknown-title = This link does not work
unsubscribe-unknown-body = Part of it may be missing. Please use the link in your most recent email, or contact the store.
unsubscribe-unavailable-title = Please try again
unsubscribe-unavailable-body = We could not record your choice just now. Please try again in a few minutes.

ndr-link = Your delivery failed — choose what happens next
ndr-title = Your delivery
ndr-attempt-failed = Delivery attempt { $attempt } failed
ndr-deadline = Please choose by { $deadline }. After that, the store will decide for you.
ndr-choose-heading = What would you like us to do?
ndr-reattempt-help = The carrier will try again, usually on the next working day.
ndr-reattempt-submit = Deliver it again
ndr-reschedule-label = Choose a delivery day
ndr-reschedule-submit = Deliver on this day
ndr-update-help = Correct the address or phone number and the carrier will try again. Fill in only what has changed.
ndr-street1 = Street address
ndr-street2 = Apartment, floor, building
ndr-phone = Phone number
ndr-landmark = Directions for the courier
ndr-update_and_reattempt-submit = Save and deliver again
ndr-rto-submit = I no longer want this parcel: return it to the sender
ndr-dispute-heading = I was at the address; nobody came
ndr-dispute-help = Tell us briefly what happened. The store will raise it with the carrier.
ndr-dispute-label = What happened
ndr-dispute-submit = Send
ndr-disputed = You told us that nobody came. The store will raise it with the carrier.
ndr-requested-reattempt = We have asked the carrier to deliver your parcel again, usually on the next working day.
ndr-requested-reschedule = We have asked the carrier to deliver your parcel on the chosen day.
ndr-requested-update_and_reattempt = We have asked the carrier to try again with the corrected details.
ndr-requested-rto = We have asked the carrier to return your parcel to the sender.
ndr-nothing-to-choose = There is nothing to choose for this delivery right now.
ndr-delivered = Your parcel has been delivered. There is nothing more to do.
ndr-errors-title = Your choice was not recorded
ndr-error-action = This choice is no longer possible for your parcel.
ndr-error-nothing-to-update = Please fill in at least one field.
ndr-error-date = This day is not possible. Please choose a day from { $earliest } to { $latest }.
ndr-error-field = Please check this entry: 200 characters at most.
ndr-error-statement = Please tell us briefly what happened, in 500 characters at most.
ndr-error-other = Please check your choice and try again.
ndr-unknown-title = This link does not work
ndr-unknown-body = Part of it may be missing. Please use the link in your most recent message, or contact the store.
ndr-unavailable-title = Please try again
ndr-unavailable-body = We cannot show or record your choice just now. Please try again in a few minutes.

footer-contact = Questions about your order? Write to us:
footer-links = Store links
footer-note = Parcel tracking by { $store }

month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec
date = { $month } { $day }, { $year }
time = { $hour12 }:{ $minute } { $pm ->
    [yes] PM
   *[no] AM
}
date-time = { $date }, { $time }
