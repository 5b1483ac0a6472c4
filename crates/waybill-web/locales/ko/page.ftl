lang-name = 한국어
language = 언어
page-title = 배송 조회
tracking-number = 운송장 번호
status-heading = 현재 상태

status-info_received = 배송 준비 중
status-picked_up = 택배사 인수 완료
status-in_transit = 배송 중
status-out_for_delivery = 배달 출발
status-delivery_failed = 배달 시도 실패
status-available_for_pickup = 보관 장소에서 수령 가능
status-delivered = 배달 완료
status-exception = 배송 문제 발생
status-return_to_origin = 판매자에게 반송 중
status-returned = 판매자에게 반송 완료
status-cancelled = 배송 취소

notice-delivery_failed = 택배사에서 배달을 시도했으나 전달하지 못했습니다. 보통 다음 영업일에 다시 배달합니다.
notice-exception = 예상치 못한 문제로 배송이 늦어지고 있습니다. 택배사에서 확인 중이니 잠시 후 다시 확인하시거나 상점에 문의해 주세요.
notice-return_to_origin = 상품이 상점으로 반송되고 있습니다. 상품을 계속 받으시려면 상점에 문의해 주세요.
notice-returned = 상품이 상점으로 반송되었습니다.
notice-cancelled = 이 배송은 취소되었습니다. 궁금한 점이 있으시면 상점에 문의해 주세요.
ndr-reason = 사유: { $reason }

ndr-customer_unavailable = 받으실 분이 부재중이었습니다
ndr-address_issue = 주소가 불완전하거나 찾을 수 없었습니다
ndr-refused = 상품 수령이 거절되었습니다
ndr-cod_not_ready = 도착 시 결제할 금액이 준비되지 않았습니다
ndr-premises_closed = 배송지가 문을 닫은 상태였습니다
ndr-rescheduled_by_customer = 요청하신 대로 배달 일정이 변경되었습니다
ndr-out_of_service_area = 주소가 택배사의 배송 지역 밖에 있습니다
ndr-other = 택배사에서 다른 사유를 알려 왔습니다

progress-label = 배송 진행 상황
milestone-ordered = 주문 완료
milestone-picked_up = 택배사 인수
milestone-in_transit = 배송 중
milestone-out_for_delivery = 배달 출발
milestone-delivered = 배달 완료

estimated-delivery = 도착 예정일
timeline-heading = 배송 조회 내역
timeline-local-time = 시간은 각 처리 장소의 현지 시간으로 표시됩니다.
timeline-empty = 아직 배송 정보가 없습니다. 잠시 후 다시 확인해 주세요.
carrier = 택배사
track-with-carrier = { $carrier }에서 조회하기

details-show = 배송 상세 정보 보기
proof-label = 배송지 우편번호 또는 휴대폰 번호 뒤 4자리
proof-help = 받으시는 분만 배송지 주소와 상품 정보를 보실 수 있도록 확인하고 있습니다.
proof-submit = 상세 정보 보기
proof-error = 이 배송 정보와 일치하지 않습니다. 확인하신 후 다시 입력해 주세요.
details-heading = 배송 상세 정보
details-recipient = 받는 분
details-address = 배송지 주소
details-items = 상품
item-line = { $name } { $quantity }개

not-found-title = 운송장 번호를 찾을 수 없습니다
not-found-body = 번호를 확인하신 후 다시 시도해 주세요. 새로 등록된 배송은 조회되기까지 몇 시간이 걸릴 수 있습니다.
search-heading = 다른 배송 조회하기
search-label = 운송장 번호
search-submit = 조회
rate-limited-title = 요청이 너무 많습니다
rate-limited-body = 1분 정도 기다리신 후 다시 시도해 주세요.
form-error-title = 입력하신 내용을 읽을 수 없습니다
form-error-body = 배송 조회 페이지로 돌아가 다시 시도해 주세요.

unsubscribe-title = 수신 거부
unsubscribe-email-body = { $store }에서 { $recipient }(으)로 보내는 배송 안내 이메일을 더 이상 받지 않으시겠습니까?
unsubscribe-sms-body = { $store }에서 { $recipient }(으)로 보내는 배송 안내 문자를 더 이상 받지 않으시겠습니까?
unsubscribe-submit = 수신 거부하기
unsubscribed-title = 수신 거부가 완료되었습니다
unsubscribed-email-body = 이제 { $store }에서 { $recipient }(으)로 배송 안내 이메일을 보내지 않습니다.
unsubscribed-sms-body = 이제 { $store }에서 { $recipient }(으)로 배송 안내 문자를 보내지 않습니다.
unsubscribe-unknown-title = 이 링크는 사용할 수 없습니다
unsubscribe-unknown-body = 링크 일부가 빠졌을 수 있습니다. 가장 최근 이메일의 링크를 이용하시거나 상점에 문의해 주세요.
unsubscribe-unavailable-title = 잠시 후 다시 시도해 주세요
unsubscribe-unavailable-body = 지금은 요청을 저장하지 못했습니다. 몇 분 뒤에 다시 시도해 주세요.

footer-contact = 주문에 대해 궁금한 점이 있으신가요? 이메일로 문의해 주세요:
footer-links = 상점 링크
footer-note = { $store } 배송 조회

month-1 = 1월
month-2 = 2월
month-3 = 3월
month-4 = 4월
month-5 = 5월
month-6 = 6월
month-7 = 7월
month-8 = 8월
month-9 = 9월
month-10 = 10월
month-11 = 11월
month-12 = 12월
date = { $year }년 { $month } { $day }일
time = { $hour }:{ $minute }
date-time = { $date } { $time }
