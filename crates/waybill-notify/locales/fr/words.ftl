# Mots lus par les clients. Les clés sont les mêmes dans chaque langue.

## Où en est le colis, en mots qu'un client comprend.

status-info-received = Étiquette créée, en attente du transporteur
status-picked-up = Pris en charge par le transporteur
status-in-transit = En cours d'acheminement
status-out-for-delivery = En cours de livraison
status-delivery-failed = Échec de la tentative de livraison
status-available-for-pickup = Disponible en point de retrait
status-delivered = Livré
status-exception = Retardé
status-return-to-origin = En retour vers l'expéditeur
status-returned = Retourné à l'expéditeur
status-cancelled = Envoi annulé

## Pourquoi une tentative de livraison a échoué.

ndr-customer-unavailable = Personne n'était présent pour recevoir le colis
ndr-address-issue = L'adresse est introuvable ou incomplète
ndr-refused = Le colis a été refusé à la livraison
ndr-cod-not-ready = Le paiement à la livraison n'était pas prêt
ndr-premises-closed = Le lieu de livraison était fermé
ndr-rescheduled-by-customer = Vous avez demandé une livraison un autre jour
ndr-out-of-service-area = L'adresse se trouve hors de la zone desservie par le transporteur
ndr-other = Le transporteur n'a pas pu effectuer la livraison

## Noms courts des étapes annoncées aux clients.

milestone-booked = Commande expédiée
milestone-picked-up = Prise en charge
milestone-out-for-delivery = En cours de livraison
milestone-delivery-failed = Échec de livraison
milestone-available-for-pickup = Disponible en point de retrait
milestone-delivered = Livraison effectuée
milestone-exception = Retard
milestone-return-to-origin = Retour à l'expéditeur
milestone-cancelled = Envoi annulé
milestone-information-needed = Information demandée

## Un envoi plausible pour les aperçus.

sample-customer-name = Camille Lefèvre
sample-store-name = Maison Lune
sample-carrier = Colissimo
sample-item-shirt = T-shirt en coton, bleu marine, M
sample-item-mug = Tasse en céramique
sample-edd = vendredi 14 mars
sample-pickup-point = Relais Tabac du Marché, 12 rue de la République, 69002 Lyon

info-field-postal_code = votre code postal
info-field-phone = votre numéro de téléphone
info-field-street = votre adresse (rue et numéro)
info-field-city = votre ville
info-field-name = le nom du destinataire
