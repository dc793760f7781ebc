# vetpay-konsollen, dansk.

## Formater
format-date-time = %d.%m.%Y %H:%M
money-usd = { $sign }{ $amount } US$
money-dkk = { $sign }{ $amount } kr.
money-eur = { $sign }{ $amount } €
money-sek = { $sign }{ $amount } SEK
money-nok = { $sign }{ $amount } NOK
money-other = { $sign }{ $amount } { $code }

## Ramme
skip-to-content = Gå til indholdet
nav-label = Hovedmenu
nav-invoices = Fakturaer
nav-clients = Klienter
nav-plugins = Plugins
nav-terminals = Terminaler
nav-settings = Indstillinger
nav-health-plans = Sundhedsplaner
nav-billing-runs = Opkrævninger
nav-keys = API-nøgler
nav-audit = Revisionsspor
role-admin = administrator
role-staff = personale
sign-out = Log ud

## Log ind
sign-in-title = Log ind
sign-in-intro = Log ind med din vetpay API-nøgle. Demoen skriver en, når den starter.
sign-in-key = API-nøgle
sign-in-button = Log ind
sign-in-refused = Nøglen er ukendt, udløbet eller tilbagekaldt.

## Fejl
error-title = Noget gik galt
error-forbidden = Siden er for administratorer. Log ind med en administratornøgle for at se den.
error-csrf = Formularen er forældet. Genindlæs siden og prøv igen.
error-not-found = Her er intet.
error-amount = Skriv beløbet som et tal, fx 1234,50.
error-integer = { $field } skal være et helt tal.
back-to-invoices = Tilbage til fakturaerne

## Lister
search-label = Klient eller nummer
client-search-label = Navn, e-mail eller telefon
status-label = Status
status-any = Alle
search-button = Søg
show = Vis
none-found = Intet fundet.
invoices-title = Fakturaer
clients-title = Klienter
col-number = Nummer
col-client = Klient
col-department = Afdeling
col-status = Status
col-total = I alt
col-due = Til betaling
col-description = Beskrivelse
col-quantity = Antal
col-unit-price = Stykpris
col-vat-rate = Momssats
col-vat = Moms
col-date = Dato
col-kind = Art
col-method = Type
col-card = Kort
col-amount = Beløb
col-actions = Handlinger
col-name = Navn
col-email = E-mail
col-phone = Telefon
col-species = Art
col-birth-date = Fødselsdato
col-health-plan = Sundhedsplan
col-terminal-id = Terminal-id
col-type = Type
col-plugin = Plugin
col-model = Model
col-last-end-of-day = Seneste dagsafslutning

## Fakturaer
invoice = Faktura
invoice-draft = Kladde
invoice-summary = Oversigt
invoice-status-draft = Kladde
invoice-status-finalised = Åben
invoice-status-partially_paid = Delvist betalt
invoice-status-paid = Betalt
finalised-at = Udstedt
lines = Linjer
sum-net = Netto
sum-vat = Moms
sum-total = I alt
sum-credited = Krediteret
sum-paid = Betalt
sum-due = Til betaling
finalise = Udsted
invoice-finalised = Fakturaen er udstedt.
payment = Betaling
credit-note = Kreditnota
credit-note-made = Kreditnotaen er lavet.
payments = Betalinger
no-payments = Ingen betalinger endnu.
refund = Refunder

## Betalinger
kind-payment = Betaling
kind-deposit = Forudbetaling
kind-refund = Refusion
method-label = Type
method-card = Kort
method-saved_card = Gemt kort
method-cash = Kontant
method-bank_transfer = Bankoverførsel
method-client_credit = Tilgodehavende
method-other = Andet
status-processing = I gang
status-succeeded = Gennemført
status-failed = Mislykket
status-cancelled = Annulleret
status-unknown = Undersøges
status-needs_review = Skal gennemgås
pay-title = Betaling
pay-due = Til betaling: { $due }
amount-label = Beløb ({ $currency })
terminal-label = Terminal
card-label = Kort
no-terminals = Ingen terminal i afdelingen kan tage kort: dens plugin er ikke slået til her.
process-card = Gennemfør kortbetaling
register-payment = Registrér betaling
cancel = Annullér
result-succeeded = Betalingen er gennemført.
result-failed = Betalingen mislykkedes: afvist eller annulleret på terminalen.
result-cancelled = Betalingen blev afbrudt af klinikken.
result-unknown = Resultatet kendes endnu ikke; vetpay spørger udbyderen.
result-needs_review = Udbyderen gav intet klart svar; nogen skal se på betalingen.
deposit-result-succeeded = Forudbetalingen er gennemført.
deposit-result-failed = Forudbetalingen mislykkedes: afvist eller annulleret på terminalen.
deposit-result-cancelled = Forudbetalingen blev afbrudt af klinikken.
deposit-result-needs_review = Udbyderen gav intet klart svar; nogen skal se på forudbetalingen.
refund-result-succeeded = Refusionen er gennemført.
refund-result-failed = Refusionen mislykkedes: afvist eller annulleret på terminalen.
refund-result-cancelled = Refusionen blev afbrudt af klinikken.
refund-result-needs_review = Udbyderen gav intet klart svar; nogen skal se på refusionen.

## Terminaldialogen
dialog-payment-title = Kortbetaling
dialog-deposit-title = Forudbetaling med kort
dialog-refund-title = Kortrefusion
stage-connecting = Forbinder til terminalen…
stage-waiting-for-card = Venter på kortet…
stage-waiting-for-pin = Venter på pinkoden…
stage-processing = Behandler…
stage-waiting-for-result = Venter på resultatet…
stage-cancelling = Annullerer…
stage-other = Arbejder…
abort = Afbryd
abort-asked = Afbryder…

## Refusion
refund-title = Refusion
refund-of = Betalingen var { $amount }.
refund-amount-label = Refusion ({ $currency })
refund-hint = En refusion bogføres som et negativt beløb; gør det mindre for at refundere en del.
refund-to = Refunder til
refund-on-terminal = På terminal { $terminal }
refund-to-card = Til kortet, eller som der blev betalt

## Klienter
client-tabs = Klient
tab-details = Oplysninger
tab-billing = Betaling
patients = Patienter
species-dog = Hund
species-cat = Kat
species-rabbit = Kanin
species-horse = Hest
species-bird = Fugl
plan-member = medlem af sundhedsplan
credit = Tilgodehavende
deposit = Forudbetaling
deposits = Forudbetalinger
saved-cards = Gemte kort
card-default = Standard
card-make-default = Gør til standard
card-delete = Slet
card-default-set = Kortet er nu standard.
card-deleted = Kortet er slettet.
no-cards = Ingen gemte kort.
cards-not-allowed = Afdelingen tillader ikke tilbagevendende betalinger, så gemte kort vises ikke.

plan-sign-up = Tilmeld en sundhedsplan
patient-label = Patient
plan-signed-up = Patienten er tilmeldt.
plan-payment-option = Betales med
plan-option-monthly_invoice = Månedlig faktura
plan-option-saved_card = Gemt kort hver måned
plan-option-third_party = En tredjepart
plan-option-manual = Fakturaer lavet i hånden
plan-option-advance = Forud
plan-activate = Aktivér
plan-activated = Abonnementet er aktivt.
plan-included = Inkluderet
plan-used = Brugt
plan-remaining = Tilbage
subscription-applied = Ansøgt
subscription-active = Aktiv
subscription-suspended = Suspenderet
subscription-lapsed = Bortfaldet
subscription-ended = Afsluttet
subscription-cancelled = Opsagt

## Administration
plugins-title = Plugins
plugin-markets = Markeder
plugin-currencies = Valutaer
plugin-capabilities = Funktioner
plugin-enabled = Slået til for
plugin-market-label = Marked (landekode)
plugin-enable = Slå til
plugin-disable = Slå fra
market-enabled = Pluginet er slået til for markedet.
market-disabled = Pluginet er slået fra for markedet.
plugin-upload-title = Installér et plugin
plugin-upload-label = Plugin-fil (.wasm)
plugin-upload-button = Installér
plugin-upload-missing = Vælg en .wasm-fil at installere.
plugin-installed = { $name } er installeret.
plugin-settings = Indstillinger
secret-set = Sat (skjult)
secret-not-set = Ikke sat
save = Gem
settings-saved = Gemt.
allowed-hosts = Tilladte værter
allowed-hosts-manifest = Pluginet må selv nå: { $hosts }
allowed-hosts-extra = Flere værter, én pr. linje
terminals-title = Terminaler
terminal-add = Tilføj terminal
terminal-added = Terminalen er tilføjet.
terminal-type-hint = Nets-terminaler er "Connect@Cloud".
end-of-day = Dagsafslutning
end-of-day-title = Dagsafslutning
end-of-day-done = Dagsafslutningen er gennemført (reference { $reference }).
back-to-terminals = Tilbage til terminalerne
settings-title = Indstillinger
settings-organisation = Organisation
health-plans-off = Sundhedsplaner er et tilvalg, der er slået fra for jeres organisation; en administrator slår det til under indstillinger.
health-plans-title = Sundhedsplaner
billing-runs-title = Opkrævninger
billing-period = Måned (ÅÅÅÅ-MM)
billing-run-start = Start en opkrævning
billing-run-live = En opkrævning er i gang; siden følger dens fremdrift.
billing-run-started = Opkrævningen er startet.
keys-title = API-nøgler
key-new = Ny nøgle
key-create = Lav nøglen
key-expires-days = Udløber om dage (tom: aldrig)
key-secret-once = Den nye nøgle, vist kun denne ene gang: kopiér den nu.
key-revoke = Tilbagekald
key-revoked = Nøglen er tilbagekaldt.
audit-title = Revisionsspor
field-name = Navn
field-species = Art
field-contract_months = Måneder
field-monthly_price = Månedspris
field-period = Måned
field-status = Status
field-processed = Færdige
field-total = I alt
field-failed = Mislykkede
field-started_at = Startet
field-role = Rolle
field-created_at = Oprettet
field-expires_at = Udløber
field-last_used_at = Senest brugt
field-revoked_at = Tilbagekaldt
field-at = Hvornår
field-actor_key_name = Nøgle
field-action = Handling
field-target_type = Af
field-target_id = Id

## Terminaler fra udbyderen
provider-terminals = Terminalerne på { $plugin }-kontoen
col-supported = Understøttet
yes = Ja
no = Nej
provider-terminal-registered = Registreret
provider-terminals-none = Udbyderen viser ingen terminal for denne konto.

## Plugin-indstillinger pr. niveau
plugin-settings-department = Indstillinger for { $department }
plugin-settings-none-here = Pluginet har ingen indstilling på dette niveau.

## Sundhedsplan-katalog
plan-new = Ny sundhedsplan
plan-create = Opret plan
plan-created = Planen { $name } er oprettet.
plan-items = Inkluderede ydelser
plan-field-name = Navn
plan-field-description = Beskrivelse
plan-field-main_department_id = Hovedafdeling (modtager betalingerne)
plan-field-species = Art (alle når tom)
plan-field-contract_months = Kontraktmåneder
plan-field-monthly_price = Månedspris
plan-field-upfront_price = Forudbetalt pris
plan-field-cancellation_fee = Opsigelsesgebyr
plan-field-renews = Fornyes ved kontraktens udløb
plan-item-code = Kode
plan-item-description = Ydelse
plan-item-quantity = Antal
plan-item-discount = Rabat %
plan-item-price = Stykpris
plan-item-price-of = Stykpris for ydelse { $row }
error-amount-field = { $field }: skriv beløbet som et tal, f.eks. 1234,50.

## Kørsler
billing-run-title = Opkrævningskørsel
billing-run-of = Opkrævning for { $period }
billing-run-progress = Fremskridt
billing-run-counts = { $processed } af { $total } måneder opkrævet
run-status-running = Kører
run-status-done = Færdig
run-status-failed = Fejlet
field-invoiced = Fakturaer udstedt
field-charged = Kort opkrævet
