# 고객이 읽는 문구입니다. 모든 언어가 같은 키를 가집니다.

## 고객이 이해할 수 있는 배송 상태입니다.

status-info-received = 송장 등록, 택배사 인수 대기 중
status-picked-up = 택배사 집하 완료
status-in-transit = 배송 중
status-out-for-delivery = 배송 출발
status-delivery-failed = 배송 시도 실패
status-available-for-pickup = 픽업 가능
status-delivered = 배송 완료
status-exception = 배송 지연
status-return-to-origin = 보내는 분께 반송 중
status-returned = 보내는 분께 반송 완료
status-cancelled = 배송 취소

## 배송을 완료하지 못한 이유입니다.

ndr-customer-unavailable = 받으실 분이 계시지 않았습니다
ndr-address-issue = 주소를 찾을 수 없거나 주소가 정확하지 않습니다
ndr-refused = 상품 수령을 거절하셨습니다
ndr-cod-not-ready = 착불 결제가 준비되지 않았습니다
ndr-premises-closed = 배송지가 문을 닫은 상태였습니다
ndr-rescheduled-by-customer = 고객님께서 다른 날 배송을 요청하셨습니다
ndr-out-of-service-area = 택배사의 배송 가능 지역이 아닙니다
ndr-other = 택배사에서 배송을 완료하지 못했습니다

## 설정 화면과 제목에 쓰는 짧은 이름입니다.

milestone-booked = 발송 완료
milestone-picked-up = 집하 완료
milestone-out-for-delivery = 배송 출발
milestone-delivery-failed = 배송 실패
milestone-available-for-pickup = 픽업 가능
milestone-delivered = 배송 완료
milestone-exception = 배송 지연
milestone-return-to-origin = 반송
milestone-cancelled = 배송 취소
milestone-information-needed = 정보 요청

## 미리보기에 쓰는 예시 주문입니다.

sample-customer-name = 김민지
sample-store-name = 하늘상점
sample-carrier = CJ대한통운
sample-item-shirt = 면 티셔츠 (네이비, M)
sample-item-mug = 도자기 머그컵
sample-edd = 3월 14일 (금)
sample-pickup-point = GS25 역삼점 (서울 강남구 테헤란로 152)

info-field-postal_code = 우편번호
info-field-phone = 전화번호
info-field-street = 도로명 주소 (도로명과 건물 번호)
info-field-city = 시/군/구
info-field-name = 받는 분 성함
