lang-name = Türkçe
language = Dil
page-title = Kargonuzu takip edin
tracking-number = Takip numarası
status-heading = Güncel durum

status-info_received = Gönderi hazırlanıyor
status-picked_up = Kargo firması teslim aldı
status-in_transit = Yolda
status-out_for_delivery = Dağıtıma çıktı
status-delivery_failed = Teslimat denemesi başarısız oldu
status-available_for_pickup = Şubeden teslim alınabilir
status-delivered = Teslim edildi
status-exception = Teslimatta sorun var
status-return_to_origin = Göndericiye geri dönüyor
status-returned = Göndericiye iade edildi
status-cancelled = Gönderi iptal edildi

notice-delivery_failed = Kargo firması paketinizi teslim etmeyi denedi ancak teslim edemedi. Genellikle bir sonraki iş günü yeniden denenir.
notice-exception = Beklenmedik bir durum paketinizi geciktiriyor. Kargo firması ilgileniyor: daha sonra tekrar bakabilir veya mağazayla iletişime geçebilirsiniz.
notice-return_to_origin = Paketiniz mağazaya geri gönderiliyor. Hâlâ teslim almak istiyorsanız lütfen mağazayla iletişime geçin.
notice-returned = Paketiniz mağazaya iade edildi.
notice-cancelled = Bu gönderi iptal edildi. Sorularınız için lütfen mağazayla iletişime geçin.
ndr-reason = Neden: { $reason }

ndr-customer_unavailable = Adreste paketi teslim alacak kimse yoktu
ndr-address_issue = Adres eksikti veya bulunamadı
ndr-refused = Paketin teslimi reddedildi
ndr-cod_not_ready = Kapıda ödenecek tutar hazır değildi
ndr-premises_closed = Teslimat adresi kapalıydı
ndr-rescheduled_by_customer = Teslimat, isteğiniz üzerine yeniden planlandı
ndr-out_of_service_area = Adres, kargo firmasının dağıtım bölgesinin dışında
ndr-other = Kargo firması başka bir neden bildirdi

progress-label = Teslimat durumu
milestone-ordered = Sipariş alındı
milestone-picked_up = Kargoya verildi
milestone-in_transit = Yolda
milestone-out_for_delivery = Dağıtımda
milestone-delivered = Teslim edildi

estimated-delivery = Tahmini teslimat
timeline-heading = Kargo hareketleri
timeline-local-time = Saatler, her işlemin yapıldığı yerin yerel saatine göre gösterilir.
timeline-empty = Henüz bir hareket yok. Lütfen biraz sonra tekrar bakın.
carrier = Kargo firması
track-with-carrier = { $carrier } sitesinde takip edin

details-show = Teslimat ayrıntılarını göster
proof-label = Teslimat adresinin posta kodu veya telefonunuzun son 4 hanesi
proof-help = Teslimat adresini ve ürünleri yalnızca alıcının görebilmesi için bu bilgiyi istiyoruz.
proof-submit = Ayrıntıları göster
proof-error = Bu bilgi gönderiyle eşleşmiyor. Lütfen kontrol edip tekrar deneyin.
details-heading = Teslimat ayrıntıları
details-recipient = Alıcı
details-address = Teslimat adresi
details-items = Ürünler
item-line = { $name } ({ $quantity } adet)

not-found-title = Takip numarası bulunamadı
not-found-body = Lütfen numarayı kontrol edip tekrar deneyin. Yeni bir gönderinin görünmesi birkaç saat sürebilir.
search-heading = Başka bir kargoyu takip edin
search-label = Takip numarası
search-submit = Takip et
rate-limited-title = Çok fazla istek
rate-limited-body = Lütfen bir dakika bekleyip tekrar deneyin.
form-error-title = Form okunamadı
form-error-body = Lütfen takip sayfasına dönüp tekrar deneyin.

unsubscribe-title = Abonelikten çık
unsubscribe-email-body = { $store } tarafından { $recipient } adresine gönderilen kargo bilgilendirme e-postaları durdurulsun mu?
unsubscribe-sms-body = { $store } tarafından { $recipient } numarasına gönderilen kargo bilgilendirme SMS'leri durdurulsun mu?
unsubscribe-submit = Abonelikten çık
unsubscribed-title = Abonelikten çıktınız
unsubscribed-email-body = { $store } artık { $recipient } adresine kargo bilgilendirme e-postası göndermeyecek.
unsubscribed-sms-body = { $store } artık { $recipient } numarasına kargo bilgilendirme SMS'i göndermeyecek.
unsubscribe-unknown-title = Bu bağlantı çalışmıyor
unsubscribe-unknown-body = Bağlantının bir kısmı eksik olabilir. Lütfen son e-postanızdaki bağlantıyı kullanın ya da mağazayla iletişime geçin.
unsubscribe-unavailable-title = Lütfen yeniden deneyin
unsubscribe-unavailable-body = Tercihinizi şu anda kaydedemedik. Lütfen birkaç dakika sonra yeniden deneyin.

footer-contact = Siparişinizle ilgili bir sorunuz mu var? Bize yazın:
footer-links = Mağaza bağlantıları
footer-note = { $store } kargo takip sayfası

month-1 = Oca
month-2 = Şub
month-3 = Mar
month-4 = Nis
month-5 = May
month-6 = Haz
month-7 = Tem
month-8 = Ağu
month-9 = Eyl
month-10 = Eki
month-11 = Kas
month-12 = Ara
date = { $day } { $month } { $year }
time = { $hour }:{ $minute }
date-time = { $date } { $time }
