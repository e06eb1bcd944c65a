package api

import "net/http"

// Code is a machine-readable error code. Every code the server itself answers
// with is a constant below, in one table with the status it is sent with and a
// default message; handlers give a more precise message where they can. Codes
// from plugins pass through as the plugin sent them (Code(s)).
type Code string

// The codes.
const (
	CodeAdminRequired             Code = "ADMIN_REQUIRED"
	CodeAgentNotFound             Code = "AGENT_NOT_FOUND"
	CodeAgentNotRunning           Code = "AGENT_NOT_RUNNING"
	CodeAlreadyVerified           Code = "ALREADY_VERIFIED"
	CodeAuthRequired              Code = "AUTH_REQUIRED"
	CodeBillingDisabled           Code = "BILLING_DISABLED"
	CodeBotDetected               Code = "BOT_DETECTED"
	CodeBusy                      Code = "BUSY"
	CodeChainUnavailable          Code = "CHAIN_UNAVAILABLE"
	CodeChannelCredentialRefused  Code = "CHANNEL_CREDENTIAL_REFUSED"
	CodeChannelInUse              Code = "CHANNEL_IN_USE"
	CodeChannelUnavailable        Code = "CHANNEL_UNAVAILABLE"
	CodeClientClosed              Code = "CLIENT_CLOSED"
	CodeCSRFRequired              Code = "CSRF_REQUIRED"
	CodeEmailInUse                Code = "EMAIL_IN_USE"
	CodeEmailNotCanonical         Code = "EMAIL_NOT_CANONICAL"
	CodeFarcasterAlgorithmRefused Code = "FARCASTER_ALGORITHM_REFUSED"
	CodeFarcasterAudienceMismatch Code = "FARCASTER_AUDIENCE_MISMATCH"
	CodeFarcasterIssuerMismatch   Code = "FARCASTER_ISSUER_MISMATCH"
	CodeFarcasterKeyUnknown       Code = "FARCASTER_KEY_UNKNOWN"
	CodeFarcasterSignatureInvalid Code = "FARCASTER_SIGNATURE_INVALID"
	CodeFarcasterSubjectInvalid   Code = "FARCASTER_SUBJECT_INVALID"
	CodeFarcasterTokenExpired     Code = "FARCASTER_TOKEN_EXPIRED"
	CodeFarcasterTokenInvalid     Code = "FARCASTER_TOKEN_INVALID"
	CodeFIDInUse                  Code = "FID_IN_USE"
	CodeIdempotencyInProgress     Code = "IDEMPOTENCY_IN_PROGRESS"
	CodeIdempotencyKeyReused      Code = "IDEMPOTENCY_KEY_REUSED"
	CodeInstanceTokenInvalid      Code = "INSTANCE_TOKEN_INVALID"
	CodeInternal                  Code = "INTERNAL"
	CodeInvalidAction             Code = "INVALID_ACTION"
	CodeInvalidAPIKey             Code = "INVALID_API_KEY"
	CodeInvalidAPIKeyFormat       Code = "INVALID_API_KEY_FORMAT"
	CodeInvalidBody               Code = "INVALID_BODY"
	CodeInvalidCredentials        Code = "INVALID_CREDENTIALS"
	CodeInvalidDays               Code = "INVALID_DAYS"
	CodeInvalidEvent              Code = "INVALID_EVENT"
	CodeInvalidFieldType          Code = "INVALID_FIELD_TYPE"
	CodeInvalidIdempotencyKey     Code = "INVALID_IDEMPOTENCY_KEY"
	CodeInvalidJSON               Code = "INVALID_JSON"
	CodeInvalidLimit              Code = "INVALID_LIMIT"
	CodeInvalidManifest           Code = "INVALID_MANIFEST"
	CodeInvalidModule             Code = "INVALID_MODULE"
	CodeInvalidMonth              Code = "INVALID_MONTH"
	CodeInvalidMultipart          Code = "INVALID_MULTIPART"
	CodeInvalidPaymentMethod      Code = "INVALID_PAYMENT_METHOD"
	CodeInvalidPlan               Code = "INVALID_PLAN"
	CodeInvalidPluginID           Code = "INVALID_PLUGIN_ID"
	CodeInvalidPrice              Code = "INVALID_PRICE"
	CodeInvalidProvider           Code = "INVALID_PROVIDER"
	CodeInvalidRange              Code = "INVALID_RANGE"
	CodeInvalidReferralCode       Code = "INVALID_REFERRAL_CODE"
	CodeInvalidSignature          Code = "INVALID_SIGNATURE"
	CodeInvalidToken              Code = "INVALID_TOKEN"
	CodeInvalidTransition         Code = "INVALID_TRANSITION"
	CodeKeyImportDisabled         Code = "KEY_IMPORT_DISABLED"
	CodeKeyLimitReached           Code = "KEY_LIMIT_REACHED"
	CodeMemoryFull                Code = "MEMORY_FULL"
	CodeMethodNotAllowed          Code = "METHOD_NOT_ALLOWED"
	CodeMPPInvalidChallenge       Code = "INVALID_CHALLENGE"
	CodeMPPInvalidPayload         Code = "INVALID_PAYLOAD"
	CodeMPPMalformedCredential    Code = "MALFORMED_CREDENTIAL"
	CodeMPPMethodUnsupported      Code = "METHOD_UNSUPPORTED"
	CodeMPPPaymentExpired         Code = "PAYMENT_EXPIRED"
	CodeMPPPaymentInsufficient    Code = "PAYMENT_INSUFFICIENT"
	CodeMPPVerificationFailed     Code = "VERIFICATION_FAILED"
	CodeNotFound                  Code = "NOT_FOUND"
	CodePayloadTooLarge           Code = "PAYLOAD_TOO_LARGE"
	CodePaymentMethodUnavailable  Code = "PAYMENT_METHOD_UNAVAILABLE"
	CodePaymentRequired           Code = "PAYMENT_REQUIRED"
	CodePluginError               Code = "PLUGIN_ERROR"
	CodePluginTimeout             Code = "PLUGIN_TIMEOUT"
	CodePluginUnavailable         Code = "PLUGIN_UNAVAILABLE"
	CodePublishQuotaExceeded      Code = "PUBLISH_QUOTA_EXCEEDED"
	CodeRateLimited               Code = "RATE_LIMITED"
	CodeRunBudgetExceeded         Code = "BUDGET_EXCEEDED"
	CodeRunCancelled              Code = "CANCELLED"
	CodeRunDeadlineExceeded       Code = "DEADLINE_EXCEEDED"
	CodeRunModelError             Code = "MODEL_ERROR"
	CodeRunRepeatedToolCall       Code = "REPEATED_TOOL_CALL"
	CodeRunRoundTripsExceeded     Code = "ROUND_TRIPS_EXCEEDED"
	CodeRunTranscriptError        Code = "TRANSCRIPT_ERROR"
	CodeSeedExportDisabled        Code = "SEED_EXPORT_DISABLED"
	CodeShuttingDown              Code = "SHUTTING_DOWN"
	CodeSIWEChainUnsupported      Code = "SIWE_CHAIN_UNSUPPORTED"
	CodeSIWEDomainMismatch        Code = "SIWE_DOMAIN_MISMATCH"
	CodeSIWEExpired               Code = "SIWE_EXPIRED"
	CodeSIWEMessageInvalid        Code = "SIWE_MESSAGE_INVALID"
	CodeSIWENonceInvalid          Code = "SIWE_NONCE_INVALID"
	CodeSIWENotYetValid           Code = "SIWE_NOT_YET_VALID"
	CodeSIWESignatureInvalid      Code = "SIWE_SIGNATURE_INVALID"
	CodeSkillBadOutput            Code = "SKILL_BAD_OUTPUT"
	CodeSkillCrashed              Code = "SKILL_CRASHED"
	CodeSkillFailed               Code = "SKILL_FAILED"
	CodeSkillOutputTooLarge       Code = "OUTPUT_TOO_LARGE"
	CodeSkillHostCallLimit        Code = "HOST_CALL_LIMIT"
	CodeSkillNameReserved         Code = "SKILL_NAME_RESERVED"
	CodeSkillNameTaken            Code = "SKILL_NAME_TAKEN"
	CodeSkillNotFound             Code = "SKILL_NOT_FOUND"
	CodeSkillNotInstalled         Code = "SKILL_NOT_INSTALLED"
	CodeSkillTimeout              Code = "SKILL_TIMEOUT"
	CodeSpendCapExceeded          Code = "SPEND_CAP_EXCEEDED"
	CodeStripeError               Code = "STRIPE_ERROR"
	CodeTierLimit                 Code = "TIER_LIMIT"
	CodeTokenGateFailed           Code = "TOKEN_GATE_FAILED"
	CodeTokenInvalid              Code = "TOKEN_INVALID"
	CodeTokenRenewalForbidden     Code = "TOKEN_RENEWAL_FORBIDDEN"
	CodeTooManyConnections        Code = "TOO_MANY_CONNECTIONS"
	CodeTransferInProgress        Code = "TRANSFER_IN_PROGRESS"
	CodeUnknownPlugin             Code = "UNKNOWN_PLUGIN"
	CodeUnsupportedMediaType      Code = "UNSUPPORTED_MEDIA_TYPE"
	CodeUpgradeRequired           Code = "UPGRADE_REQUIRED"
	CodeUserExists                Code = "USER_EXISTS"
	CodeValidationError           Code = "VALIDATION_ERROR"
	CodeVerifyAttestationExpired  Code = "VERIFY_ATTESTATION_EXPIRED"
	CodeVerifyAttestationNotFound Code = "VERIFY_ATTESTATION_NOT_FOUND"
	CodeVerifyAttestationRevoked  Code = "VERIFY_ATTESTATION_REVOKED"
	CodeVerifyAttesterNotAllowed  Code = "VERIFY_ATTESTER_NOT_ALLOWED"
	CodeVerifyChallengeInvalid    Code = "VERIFY_CHALLENGE_INVALID"
	CodeVerifyENSMismatch         Code = "VERIFY_ENS_MISMATCH"
	CodeVerifyENSNoName           Code = "VERIFY_ENS_NO_NAME"
	CodeVerifyENSUnsupportedName  Code = "VERIFY_ENS_UNSUPPORTED_NAME"
	CodeVerifyNotSmartWallet      Code = "VERIFY_NOT_SMART_WALLET"
	CodeVerifyRecipientMismatch   Code = "VERIFY_RECIPIENT_MISMATCH"
	CodeVerifySchemaNotAllowed    Code = "VERIFY_SCHEMA_NOT_ALLOWED"
	CodeVerifySignatureInvalid    Code = "VERIFY_SIGNATURE_INVALID"
	CodeVerifyTypeInvalid         Code = "VERIFY_TYPE_INVALID"
	CodeVerifyWalletUnproven      Code = "VERIFY_WALLET_UNPROVEN"
	CodeVersionExists             Code = "VERSION_EXISTS"
	CodeWalletExists              Code = "WALLET_EXISTS"
	CodeWalletInUse               Code = "WALLET_IN_USE"
	CodeWalletNotFound            Code = "WALLET_NOT_FOUND"
	CodeWebhookNotKept            Code = "WEBHOOK_NOT_KEPT"
	CodeWebhookSignatureInvalid   Code = "WEBHOOK_SIGNATURE_INVALID"
	CodeWebhookVerifyRefused      Code = "WEBHOOK_VERIFY_REFUSED"
)

type codeSpec struct {
	status  int
	message string
}

// codes is the table: each code's status and default message.
var codes = map[Code]codeSpec{
	CodeAdminRequired:             {403, "Admin access required"},
	CodeAgentNotFound:             {404, "Agent not found"},
	CodeAgentNotRunning:           {409, "The agent is not running; start it first"},
	CodeAlreadyVerified:           {409, "Your email address is already verified"},
	CodeAuthRequired:              {401, "Authentication required"},
	CodeBillingDisabled:           {503, "Billing is not configured on this server"},
	CodeBotDetected:               {403, "Access denied"},
	CodeBusy:                      {409, "Another chat is still running on this connection"},
	CodeChainUnavailable:          {503, "The chain could not be reached; try again shortly"},
	CodeChannelCredentialRefused:  {400, "The channel refused the token"},
	CodeChannelInUse:              {409, "This bot is already connected to an agent"},
	CodeChannelUnavailable:        {502, "The channel could not be reached; try again shortly"},
	CodeClientClosed:              {499, "The client closed the request"},
	CodeCSRFRequired:              {403, "Missing or invalid CSRF token"},
	CodeEmailInUse:                {409, "Email already in use"},
	CodeEmailNotCanonical:         {409, "Set your email address again to verify it"},
	CodeFarcasterAlgorithmRefused: {401, "Quick Auth tokens must be signed with RS256"},
	CodeFarcasterAudienceMismatch: {401, "The Farcaster token is for another domain"},
	CodeFarcasterIssuerMismatch:   {401, "The Farcaster token is from another issuer"},
	CodeFarcasterKeyUnknown:       {401, "The Farcaster token's signing key is not in the issuer's key set"},
	CodeFarcasterSignatureInvalid: {401, "The Farcaster token's signature does not verify"},
	CodeFarcasterSubjectInvalid:   {401, "The Farcaster token's subject is not a Farcaster id"},
	CodeFarcasterTokenExpired:     {401, "The Farcaster token has expired"},
	CodeFarcasterTokenInvalid:     {401, "Missing or malformed Farcaster Quick Auth token"},
	CodeFIDInUse:                  {409, "This Farcaster account is linked to another account"},
	CodeIdempotencyInProgress:     {409, "A request with this Idempotency-Key is still being processed"},
	CodeIdempotencyKeyReused:      {422, "This Idempotency-Key was used with another request"},
	CodeInstanceTokenInvalid:      {401, "Missing or invalid instance token"},
	CodeInternal:                  {500, "Internal server error"},
	CodeInvalidAction:             {400, "Invalid action"},
	CodeInvalidAPIKey:             {401, "Invalid API key"},
	CodeInvalidAPIKeyFormat:       {400, "Invalid API key format"},
	CodeInvalidBody:               {400, "Could not read the request body"},
	CodeInvalidCredentials:        {401, "Invalid email or password"},
	CodeInvalidDays:               {400, "days must be a whole number from 1 to 90"},
	CodeInvalidEvent:              {400, "The body is not a Stripe event"},
	CodeInvalidFieldType:          {400, "A field has the wrong type"},
	CodeInvalidIdempotencyKey:     {400, "Idempotency-Key must be 1 to 255 characters"},
	CodeInvalidJSON:               {400, "Malformed JSON body"},
	CodeInvalidLimit:              {400, "limit must be a whole number from 1 to 500"},
	CodeInvalidManifest:           {400, "Invalid skill manifest"},
	CodeInvalidModule:             {400, "Invalid WebAssembly module"},
	CodeInvalidMonth:              {400, "Invalid month"},
	CodeInvalidMultipart:          {400, "Malformed multipart body"},
	CodeInvalidPaymentMethod:      {400, "X-Payment-Method must be stripe, mpp or x402"},
	CodeInvalidPlan:               {400, "Invalid plan; choose one of the plans GET /api/billing lists"},
	CodeInvalidPluginID:           {400, "Plugin id must be lower-case letters, digits and ._:- (at most 128)"},
	CodeInvalidPrice:              {400, "Unknown credit pack; use one of the price ids GET /api/billing lists"},
	CodeInvalidProvider:           {400, "Unknown provider"},
	CodeInvalidRange:              {400, "range must be 24h, 7d or 30d"},
	CodeInvalidReferralCode:       {400, "Unknown referral code"},
	CodeInvalidSignature:          {400, "Missing or invalid Stripe-Signature"},
	CodeInvalidToken:              {400, "Invalid or expired token"},
	CodeInvalidTransition:         {409, "The agent cannot make this change from its current state"},
	CodeKeyImportDisabled:         {400, "Importing a private key is disabled: keys are made on the server and never leave it"},
	CodeKeyLimitReached:           {429, "API key limit reached"},
	CodeMemoryFull:                {413, "The agent's memory is full"},
	CodeMethodNotAllowed:          {405, "Method not allowed"},
	CodeMPPInvalidChallenge:       {402, "The payment credential answers no challenge of this server's"},
	CodeMPPInvalidPayload:         {402, "The payment credential's payload is invalid"},
	CodeMPPMalformedCredential:    {402, "The payment credential is malformed"},
	CodeMPPMethodUnsupported:      {400, "The payment method is not one this server accepts"},
	CodeMPPPaymentExpired:         {402, "The payment challenge or authorization has expired"},
	CodeMPPPaymentInsufficient:    {402, "The payment is less than the price"},
	CodeMPPVerificationFailed:     {402, "The payment could not be verified or settled"},
	CodeNotFound:                  {404, "Not found"},
	CodePayloadTooLarge:           {413, "Request body too large"},
	CodePaymentMethodUnavailable:  {400, "Machine payments are not enabled on this gateway; pay with stripe"},
	CodePaymentRequired:           {402, "Payment required"},
	CodePluginError:               {502, "The provider sent malformed data"},
	CodePluginTimeout:             {504, "The provider did not answer in time"},
	CodePluginUnavailable:         {502, "The provider is unavailable; try again shortly"},
	CodePublishQuotaExceeded:      {429, "Publish quota exceeded"},
	CodeRateLimited:               {429, "Too many requests"},
	CodeRunBudgetExceeded:         {422, "The run reached its budget"},
	CodeRunCancelled:              {499, "The run was cancelled: the client went away"},
	CodeRunDeadlineExceeded:       {422, "The run reached its deadline"},
	CodeRunModelError:             {502, "The model failed"},
	CodeRunRepeatedToolCall:       {422, "The model repeated the same tool call"},
	CodeRunRoundTripsExceeded:     {422, "The run reached its limit of model round trips"},
	CodeRunTranscriptError:        {502, "The conversation could not be stored"},
	CodeSeedExportDisabled:        {403, "Seed export is disabled for security: the key is sealed on the server and never returned"},
	CodeShuttingDown:              {503, "The server is shutting down; reconnect shortly"},
	CodeSIWEChainUnsupported:      {401, "This chain is not accepted for sign-in"},
	CodeSIWEDomainMismatch:        {401, "The sign-in message is for another site"},
	CodeSIWEExpired:               {401, "The sign-in message has expired"},
	CodeSIWEMessageInvalid:        {400, "Not a valid EIP-4361 sign-in message"},
	CodeSIWENonceInvalid:          {401, "Unknown, used or expired nonce; get a new one from GET /api/auth/nonce"},
	CodeSIWENotYetValid:           {401, "The sign-in message is not valid yet"},
	CodeSIWESignatureInvalid:      {401, "The signature is not the address's signature of the message"},
	CodeSkillBadOutput:            {502, "The skill answered with malformed output"},
	CodeSkillCrashed:              {502, "The skill crashed"},
	CodeSkillFailed:               {500, "The skill failed without saying why"},
	CodeSkillOutputTooLarge:       {500, "The skill's output is over the server's limit"},
	CodeSkillHostCallLimit:        {500, "The skill made more host calls than one call may"},
	CodeSkillNameReserved:         {403, "This skill name is reserved"},
	CodeSkillNameTaken:            {403, "This skill name belongs to another author"},
	CodeSkillNotFound:             {404, "No such skill or version"},
	CodeSkillNotInstalled:         {404, "The skill is not installed on this agent"},
	CodeSkillTimeout:              {504, "The skill did not finish in time"},
	CodeSpendCapExceeded:          {403, "This transfer would exceed the wallet's daily spend cap"},
	CodeStripeError:               {502, "The payment provider could not be reached; try again"},
	CodeTierLimit:                 {429, "Your plan's limit is reached"},
	CodeTokenGateFailed:           {403, "Token gating failed: the address does not hold enough of the token"},
	CodeTokenInvalid:              {401, "Invalid or expired token"},
	CodeTokenRenewalForbidden:     {403, "Sign in with a session or an API key to get a token"},
	CodeTooManyConnections:        {429, "Too many live connections to this agent"},
	CodeTransferInProgress:        {409, "A transfer with this idempotency key is still in progress or its outcome is unknown"},
	CodeUnknownPlugin:             {404, "No plugin serves this id"},
	CodeUnsupportedMediaType:      {415, "Content-Type must be application/json"},
	CodeUpgradeRequired:           {426, "This endpoint speaks WebSocket only"},
	CodeUserExists:                {409, "User already exists"},
	CodeValidationError:           {400, "Invalid input"},
	CodeVerifyAttestationExpired:  {422, "The attestation has expired"},
	CodeVerifyAttestationNotFound: {422, "No such attestation"},
	CodeVerifyAttestationRevoked:  {422, "The attestation has been revoked"},
	CodeVerifyAttesterNotAllowed:  {422, "The attestation's attester is not accepted"},
	CodeVerifyChallengeInvalid:    {400, "Unknown, used or expired challenge; get a new one from POST /api/agents/:id/verify/challenge"},
	CodeVerifyENSMismatch:         {422, "The wallet's ENS name does not resolve back to the wallet"},
	CodeVerifyENSNoName:           {422, "The wallet has no ENS reverse record"},
	CodeVerifyENSUnsupportedName:  {422, "The wallet's ENS name is not a normalised name"},
	CodeVerifyNotSmartWallet:      {422, "The wallet is not a smart wallet (a passkey signs through one)"},
	CodeVerifyRecipientMismatch:   {422, "The attestation is about another address"},
	CodeVerifySchemaNotAllowed:    {422, "The attestation's schema is not accepted"},
	CodeVerifySignatureInvalid:    {422, "The signature is not the wallet's signature of the challenge"},
	CodeVerifyTypeInvalid:         {400, "Invalid verification type: eas, coinbase, ens or webauthn"},
	CodeVerifyWalletUnproven:      {422, "The wallet is not yours: link it by signing in with Ethereum, or sign a challenge"},
	CodeVersionExists:             {409, "This version exists already"},
	CodeWalletExists:              {400, "You already have a wallet"},
	CodeWalletInUse:               {409, "This wallet is linked to another account"},
	CodeWalletNotFound:            {404, "No wallet yet"},
	CodeWebhookNotKept:            {503, "The delivery could not be kept; deliver it again"},
	CodeWebhookSignatureInvalid:   {401, "Missing or invalid webhook signature"},
	CodeWebhookVerifyRefused:      {403, "The verify token does not match"},
}

// Status is the code's HTTP status (500 for a code not in the table).
func (c Code) Status() int {
	if s, ok := codes[c]; ok {
		return s.status
	}
	return http.StatusInternalServerError
}

// Message is the code's default message.
func (c Code) Message() string { return codes[c].message }

// Err is an error with the code, its status and its default message.
func (c Code) Err() *Error { return &Error{Status: c.Status(), Code: c, Message: c.Message()} }
