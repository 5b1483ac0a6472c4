lang-name = Français
language = Langue
page-title = Suivre votre colis
tracking-number = Numéro de suivi
status-heading = Statut actuel

status-info_received = En préparation
status-picked_up = Pris en charge par le transporteur
status-in_transit = En cours d'acheminement
status-out_for_delivery = En cours de livraison
status-delivery_failed = Tentative de livraison infructueuse
status-available_for_pickup = Disponible en point de retrait
status-delivered = Livré
status-exception = Problème de livraison
status-return_to_origin = En retour vers l'expéditeur
status-returned = Retourné à l'expéditeur
status-cancelled = Envoi annulé

notice-delivery_failed = Le transporteur a tenté de livrer votre colis, sans succès. Une nouvelle tentative a généralement lieu le jour ouvré suivant.
notice-exception = Un imprévu retarde votre colis. Le transporteur s'en occupe : revenez plus tard ou contactez la boutique.
notice-return_to_origin = Votre colis repart vers la boutique. Contactez-la si vous souhaitez toujours le recevoir.
notice-returned = Votre colis a été retourné à la boutique.
notice-cancelled = Cet envoi a été annulé. Pour toute question, contactez la boutique.
ndr-reason = Motif : { $reason }

ndr-customer_unavailable = Personne n'était présent pour réceptionner le colis
ndr-address_issue = L'adresse était incomplète ou introuvable
ndr-refused = Le colis a été refusé
ndr-cod_not_ready = Le paiement dû à la livraison n'était pas prêt
ndr-premises_closed = Les locaux étaient fermés
ndr-rescheduled_by_customer = La livraison a été reportée à votre demande
ndr-out_of_service_area = L'adresse se trouve hors de la zone desservie par le transporteur
ndr-other = Le transporteur a indiqué un autre motif

progress-label = Avancement de la livraison
milestone-ordered = Commandé
milestone-picked_up = Pris en charge
milestone-in_transit = En transit
milestone-out_for_delivery = En livraison
milestone-delivered = Livré

estimated-delivery = Livraison estimée
timeline-heading = Historique du suivi
timeline-local-time = Les heures sont indiquées à l'heure locale de chaque étape.
timeline-empty = Aucune mise à jour pour le moment. Revenez un peu plus tard.
carrier = Transporteur
track-with-carrier = Suivre sur le site de { $carrier }

details-show = Afficher les détails de livraison
proof-label = Code postal de destination ou 4 derniers chiffres de votre téléphone
proof-help = Nous vous le demandons pour que seul le destinataire puisse voir l'adresse de livraison et les articles.
proof-submit = Afficher les détails
proof-error = Cette information ne correspond pas à cet envoi. Vérifiez-la, puis réessayez.
details-heading = Détails de livraison
details-recipient = Destinataire
details-address = Adresse de livraison
details-items = Articles
item-line = { $quantity } × { $name }

not-found-title = Numéro de suivi introuvable
not-found-body = Vérifiez le numéro, puis réessayez. Un nouvel envoi peut mettre quelques heures à apparaître.
search-heading = Suivre un autre colis
search-label = Numéro de suivi
search-submit = Suivre
rate-limited-title = Trop de demandes
rate-limited-body = Veuillez patienter une minute, puis réessayer.
form-error-title = Le formulaire n'a pas pu être lu
form-error-body = Revenez à la page de suivi et réessayez.

unsubscribe-title = Se désabonner
unsubscribe-email-body = Ne plus recevoir les e-mails de suivi de { $store } à l'adresse { $recipient } ?
unsubscribe-sms-body = Ne plus recevoir les SMS de suivi de { $store } au { $recipient } ?
unsubscribe-submit = Me désabonner
unsubscribed-title = Votre désabonnement est enregistré
unsubscribed-email-body = { $store } n'enverra plus d'e-mails de suivi à l'adresse { $recipient }.
unsubscribed-sms-body = { $store } n'enverra plus de SMS de suivi au { $recipient }.
unsubscribe-unknown-title = Ce lien ne fonctionne pas
unsubscribe-unknown-body = Il est peut-être incomplet. Utilisez le lien de votre dernier e-mail ou contactez la boutique.
unsubscribe-unavailable-title = Veuillez réessayer
unsubscribe-unavailable-body = Nous n'avons pas pu enregistrer votre choix pour le moment. Réessayez dans quelques minutes.

footer-contact = Une question sur votre commande ? Écrivez-nous :
footer-links = Liens de la boutique
footer-note = Suivi de colis proposé par { $store }

month-1 = janv.
month-2 = févr.
month-3 = mars
month-4 = avr.
month-5 = mai
month-6 = juin
month-7 = juil.
month-8 = août
month-9 = sept.
month-10 = oct.
month-11 = nov.
month-12 = déc.
date = { $day } { $month } { $year }
time = { $hour }:{ $minute }
date-time = { $date }, { $time }
