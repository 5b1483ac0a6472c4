# Müşterilerin okuduğu sözcükler. Her dilde anahtarlar aynıdır.

## Gönderinin durumu, müşterinin anlayacağı sözcüklerle.

status-info-received = Gönderi bilgisi oluşturuldu, kargo firması bekleniyor
status-picked-up = Kargo firması teslim aldı
status-in-transit = Yolda
status-out-for-delivery = Dağıtıma çıktı
status-delivery-failed = Teslimat denemesi başarısız
status-available-for-pickup = Teslim noktasında sizi bekliyor
status-delivered = Teslim edildi
status-exception = Gecikmeli
status-return-to-origin = Göndericiye iade ediliyor
status-returned = Göndericiye iade edildi
status-cancelled = Gönderi iptal edildi

## Teslimat denemesinin neden başarısız olduğu.

ndr-customer-unavailable = Adreste teslim alacak kimse bulunamadı
ndr-address-issue = Adres bulunamadı veya eksik
ndr-refused = Gönderi teslimatta reddedildi
ndr-cod-not-ready = Kapıda ödeme tutarı hazır değildi
ndr-premises-closed = Teslimat adresi kapalıydı
ndr-rescheduled-by-customer = Teslimatı başka bir güne ertelediniz
ndr-out-of-service-area = Adres, kargo firmasının hizmet bölgesi dışında
ndr-other = Kargo firması teslimatı tamamlayamadı

## Ayarlar ekranında ve konu satırlarında kullanılan kısa adlar.

milestone-booked = Kargoya verildi
milestone-picked-up = Kargo teslim aldı
milestone-out-for-delivery = Dağıtımda
milestone-delivery-failed = Teslim edilemedi
milestone-available-for-pickup = Teslim noktasında
milestone-delivered = Teslim edildi
milestone-exception = Gecikme
milestone-return-to-origin = İade
milestone-cancelled = İptal edildi
milestone-information-needed = Bilgi gerekiyor

## Önizlemeler için örnek bir gönderi.

sample-customer-name = Ayşe Yılmaz
sample-store-name = Lale Butik
sample-carrier = Yurtiçi Kargo
sample-item-shirt = Pamuklu tişört, lacivert, M
sample-item-mug = Seramik kupa
sample-edd = 14 Mart Cuma
sample-pickup-point = Kadıköy PTT Şubesi, Moda Cad. No:12, İstanbul

info-field-postal_code = posta kodu
info-field-phone = telefon numarası
info-field-street = açık adres (sokak ve kapı numarası)
info-field-city = şehir
info-field-name = alıcının adı
