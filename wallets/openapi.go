package wallets

// The types below document the /api/wallet routes' JSON bodies for the
// OpenAPI document (route.Route's Request and Response); the handlers build
// the same shapes as maps.

type walletDoc struct {
	Address            *string `json:"address" doc:"EIP-55; null before a wallet is made"`
	Balance            string  `json:"balance" doc:"USDC in whole units"`
	BalanceWei         string  `json:"balanceWei,omitempty" doc:"ETH in wei"`
	BalanceUnavailable bool    `json:"balanceUnavailable,omitempty"`
	Network            string  `json:"network"`
	HasWallet          bool    `json:"hasWallet"`
	CreatedAt          string  `json:"createdAt,omitempty"`
	Message            string  `json:"message,omitempty"`
}

type actionRequest struct {
	Action string `json:"action" enum:"create,get_seed,export_seed" required:"true"`
}

type actionAnswer struct {
	Address   string `json:"address"`
	Network   string `json:"network"`
	Message   string `json:"message,omitempty"`
	CreatedAt string `json:"createdAt,omitempty"`
	Warning   string `json:"warning,omitempty"`
}

type addressAnswer struct {
	Authenticated bool   `json:"authenticated"`
	Address       string `json:"address"`
}

type emailRequest struct {
	Email string `json:"email" required:"true"`
}

type createAnswer struct {
	Success       bool     `json:"success"`
	WalletAddress string   `json:"walletAddress"`
	WalletID      string   `json:"walletId"`
	Networks      []string `json:"networks"`
}

type cdpInfoAnswer struct {
	Status          string   `json:"status"`
	Type            string   `json:"type"`
	Backend         string   `json:"backend" enum:"local,cdp"`
	SupportedChains []string `json:"supportedChains"`
}

type cdpRequest struct {
	PrivateKey string `json:"privateKey,omitempty" doc:"refused: keys are made on the server"`
}

type cdpAnswer struct {
	Success bool   `json:"success"`
	Address string `json:"address"`
	Network string `json:"network"`
}
