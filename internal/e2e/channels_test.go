package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels/discord/discordtest"
	"github.com/agentbot/gateway/channels/telegram/telegramtest"
	"github.com/agentbot/gateway/channels/whatsapp/whatsapptest"
	"github.com/agentbot/gateway/core/server/servertest"
)

// channelVars lift the provisioning limit (5 a minute per address) and
// make the channel supervisor look for work often.
var channelVars = map[string]string{"AGENTBOT_CHANNEL_TICK": "200ms",
	"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/agents=100000-M,/api/chat=100000-M,/api/instance=100000-M,/api/provision=100000-M"}

// channelStatus is the agent's one channel as its instance stats report it.
func channelStatus(t *testing.T, c *servertest.Client, agentID string) map[string]any {
	t.Helper()
	r := c.Do("GET", "/api/instance/"+agentID+"/stats", nil).Expect(t, 200, "")
	list, _ := r.JSON["channels"].([]any)
	if len(list) != 1 {
		t.Fatalf("stats channels = %v; want one", r.JSON["channels"])
	}
	return list[0].(map[string]any)
}

func counts(st map[string]any) map[string]any {
	m, _ := st["messages"].(map[string]any)
	return m
}

// waitCounts waits until the agent's one channel counts exactly want
// messages by outcome (an answer is recorded just after it is sent).
func waitCounts(t *testing.T, ctx context.Context, c *servertest.Client, agentID string, want map[string]any) {
	t.Helper()
	var got map[string]any
	for {
		if got = counts(channelStatus(t, c, agentID)); fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("messages by outcome = %v; want %v", got, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// channelFakes are the channels' APIs, faked on loopback.
type channelFakes struct {
	tg *telegramtest.Server
	dc *discordtest.Server
	wa *whatsapptest.Server
}

// TestChannels runs each channel end to end against its fake, on one app
// (starting one is most of each test's cost).
func TestChannels(t *testing.T) {
	f := &channelFakes{tg: telegramtest.New(t), dc: discordtest.New(t, discordtest.WithHeartbeatInterval(200*time.Millisecond)),
		wa: whatsapptest.New(t)}
	e := startAgents(t, channelVars, map[string]string{"WHATSAPP_API_URL": f.wa.URL(),
		"DISCORD_API_URL": f.dc.RESTURL(), "DISCORD_GATEWAY_URL": f.dc.GatewayURL(),
		"TELEGRAM_API_URL": f.tg.URL(), "TELEGRAM_POLL_TIMEOUT": "1s", "AGENTBOT_CHANNEL_STALL": "3s"})
	t.Run("whatsapp", func(t *testing.T) { testWhatsAppChannel(t, e, f) })
	t.Run("discord", func(t *testing.T) { testDiscordChannel(t, e, f) })
	t.Run("telegram", func(t *testing.T) { testTelegramChannelPolling(t, e, f) })
}

// WhatsApp Cloud API end to end: provisioning checks the number live, the
// webhook handshake and signed deliveries reach the agent, and its answer
// goes back through the Graph API to the same chat, split at 4096.
func testWhatsAppChannel(t *testing.T, e *agentEnv, f *channelFakes) {
	graph := f.wa
	graph.AddNumber("EAAG-good-token-000000000000", "1065550100", "+1 555-0100")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, _ := e.user(t, "wa@example.com", "solo")
	const secret = "0123456789abcdef0123456789abcdef"
	body := map[string]any{"whatsappToken": "EAAG-good-token-000000000000", "whatsappPhoneNumberId": "1065550100",
		"whatsappAppSecret": secret, "plan": "solo"}

	// Refusals, in order, before anything is stored.
	c.Do("POST", "/api/provision", map[string]any{"plan": "solo"}).Expect(t, 400, "VALIDATION_ERROR")
	c.Do("POST", "/api/provision", with(body, "discordGuildId", "1")).Expect(t, 400, "VALIDATION_ERROR")
	c.Do("POST", "/api/provision", with(body, "whatsappPhoneNumberId", "not-digits")).Expect(t, 400, "VALIDATION_ERROR")
	c.Do("POST", "/api/provision", with(body, "aiProvider", "skynet")).Expect(t, 400, "VALIDATION_ERROR")
	// Solo includes small models only: no Anthropic one.
	c.Do("POST", "/api/provision", with(body, "aiProvider", "anthropic")).Expect(t, 400, "VALIDATION_ERROR")
	c.Do("POST", "/api/provision", with(body, "plan", "free")).Expect(t, 402, "PAYMENT_REQUIRED")
	c.Do("POST", "/api/provision", with(body, "plan", "label")).Expect(t, 402, "PAYMENT_REQUIRED")
	noPlan, _ := e.user(t, "noplan@example.com", "")
	noPlan.Do("POST", "/api/provision", body).Expect(t, 402, "PAYMENT_REQUIRED")
	c.Do("POST", "/api/provision", with(body, "whatsappToken", "EAAG-wrong-token-00000000000")).Expect(t, 400, "CHANNEL_CREDENTIAL_REFUSED")
	if n := c.Do("GET", "/api/agents", nil).Expect(t, 200, "").JSON["count"]; n != 0.0 {
		t.Fatalf("agents after refused provisionings = %v; want 0", n)
	}

	r := c.Do("POST", "/api/provision", body).Expect(t, 201, "")
	if strings.Contains(string(r.Body), "good-token") || strings.Contains(string(r.Body), secret) {
		t.Fatalf("the provisioning response echoes a credential: %s", r.Body)
	}
	agentID := r.Str("agentId")
	ch := r.JSON["channels"].([]any)[0].(map[string]any)
	verify, _ := ch["verifyToken"].(string)
	// No aiProvider: the default (OpenRouter) has no model on solo, so the
	// plan's first model is chosen.
	if ch["channel"] != "whatsapp" || ch["mode"] != "webhook" || len(verify) < 16 ||
		r.JSON["aiProviderConfig"].(map[string]any)["model"] != "gpt-4o-mini" || r.JSON["aiProvider"] != "openai" {
		t.Fatalf("provisioned = %s", r.Body)
	}
	hook := e.URL + "/api/channels/whatsapp/" + ch["id"].(string)
	if !strings.HasSuffix(ch["webhookUrl"].(string), "/api/channels/whatsapp/"+ch["id"].(string)) {
		t.Errorf("webhookUrl = %v", ch["webhookUrl"])
	}
	// One number, one agent: another account cannot take it.
	other, _ := e.user(t, "other@example.com", "solo")
	other.Do("POST", "/api/provision", body).Expect(t, 409, "CHANNEL_IN_USE")

	meta := whatsapptest.Sender{URL: hook, AppSecret: secret}
	if res, err := meta.Verify(ctx, verify, "1158201444"); err != nil || res.Status != 200 || string(res.Body) != "1158201444" {
		t.Fatalf("hub.challenge = %+v, %v", res, err)
	}
	if res, _ := meta.Verify(ctx, "not-the-token", "1"); res.Status != 403 {
		t.Errorf("wrong verify token = %d; want 403", res.Status)
	}

	// A message in, the answer out to the same chat, quoting it.
	res, err := meta.Message(ctx, "1065550100", "447700900001", "Ada", "wamid.1", "echo: first gig?", time.Now())
	if err != nil || res.Status != 200 {
		t.Fatalf("delivery = %+v, %v", res, err)
	}
	sent, err := graph.WaitSent(ctx, "1065550100", 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].To != "447700900001" || sent[0].Body != "You said first gig?" || sent[0].ReplyTo != "wamid.1" {
		t.Fatalf("reply = %+v", sent[0])
	}

	// A redelivery is answered once: had it been queued again, the chat's
	// next reply would answer it before the new message.
	if res, _ := meta.Message(ctx, "1065550100", "447700900001", "Ada", "wamid.1", "echo: first gig?", time.Now()); res.Status != 200 {
		t.Fatalf("redelivery = %d", res.Status)
	}
	meta.Message(ctx, "1065550100", "447700900001", "Ada", "wamid.2", "echo: second", time.Now())
	sent, _ = graph.WaitSent(ctx, "1065550100", 2)
	if sent[1].ReplyTo != "wamid.2" {
		t.Fatalf("second reply = %+v; want the answer to wamid.2", sent[1])
	}

	// Forged deliveries are refused and keep nothing.
	forger := whatsapptest.Sender{URL: hook, AppSecret: "ffffffffffffffffffffffffffffffff"}
	if res, _ := forger.Message(ctx, "1065550100", "447700900666", "Mallory", "wamid.x", "echo: pay me", time.Now()); res.Status != 401 {
		t.Errorf("forged delivery = %d; want 401", res.Status)
	}
	if res, _ := meta.Post(ctx, whatsapptest.MessagePayload("1065550100", "1", "M", "wamid.y", "hi", time.Now()), ""); res.Status != 401 {
		t.Errorf("unsigned delivery = %d; want 401", res.Status)
	}
	if r := c.Do("GET", "/api/channels/whatsapp/chn_nope", nil); r.Status != 404 {
		t.Errorf("unknown binding = %d; want 404", r.Status)
	}

	// A long answer is split at 4096 characters; a 429 is waited out.
	graph.FailNext("1065550100", 1, 429, 130429)
	meta.Message(ctx, "1065550100", "447700900002", "Bo", "wamid.3", "long reply please", time.Now())
	sent, err = graph.WaitSent(ctx, "1065550100", 4)
	if err != nil {
		t.Fatal(err)
	}
	if sent[2].To != "447700900002" || len([]rune(sent[2].Body)) > 4096 || sent[2].ReplyTo != "wamid.3" ||
		!strings.HasSuffix(sent[3].Body, "The end.") || sent[3].ReplyTo != "" {
		t.Errorf("long reply parts = %d and %d chars, ends %q", len(sent[2].Body), len(sent[3].Body), sent[3].Body[max(0, len(sent[3].Body)-10):])
	}

	// Outside the 24-hour window: no free-form reply, and a recorded error.
	meta.Message(ctx, "1065550100", "447700900003", "Cy", "wamid.4", "echo: late", time.Now().Add(-25*time.Hour))
	waitCounts(t, ctx, c, agentID, map[string]any{"answered": 3.0, "failed": 1.0})
	st := channelStatus(t, c, agentID)
	if !strings.Contains(fmt.Sprint(st["lastError"]), "CHANNEL_WINDOW_CLOSED") || st["lastInboundAt"] == nil || st["connected"] != true {
		t.Errorf("status = %v", st)
	}
	if len(graph.Sent("1065550100")) != 4 {
		t.Errorf("sent %d; want 4", len(graph.Sent("1065550100")))
	}
	// The agent's record shows its channels too; repair clears the error.
	if a := c.Do("GET", "/api/agents/"+agentID, nil).Expect(t, 200, "").JSON["agent"].(map[string]any); len(a["channels"].([]any)) != 1 {
		t.Errorf("agent record channels = %v", a["channels"])
	}
	c.Do("POST", "/api/instance/"+agentID+"/repair", nil).Expect(t, 200, "")
	if st := channelStatus(t, c, agentID); st["lastError"] != nil || st["restarts"] != 1.0 {
		t.Errorf("after repair = %v", st)
	}
	// Another user sees none of it.
	other.Do("GET", "/api/instance/"+agentID+"/stats", nil).Expect(t, 404, "")
}

// with is a copy of m with k set to v.
func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

// Discord end to end: the bot's Gateway session runs on this node under its
// lease; a DM and a mention reach the agent, whose answers go back through
// REST to the same channel; a dropped session resumes and a 429 is waited
// out.
func testDiscordChannel(t *testing.T, e *agentEnv, f *channelFakes) {
	dc := f.dc
	const token = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GaBcDe.discord-secret-part-0123456789"
	dc.AddBot(token, "112233445566778899", "gigbot")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, uidDC := e.user(t, "dc@example.com", "collective")

	c.Do("POST", "/api/provision", map[string]any{"discordBotToken": "not a token", "plan": "collective"}).Expect(t, 400, "VALIDATION_ERROR")
	c.Do("POST", "/api/provision", map[string]any{"discordBotToken": "aaa.bbb.ccc", "plan": "collective"}).Expect(t, 400, "CHANNEL_CREDENTIAL_REFUSED")
	r := c.Do("POST", "/api/provision", map[string]any{"discordBotToken": token, "plan": "collective", "aiProvider": "anthropic"}).Expect(t, 201, "")
	if r.JSON["aiProviderConfig"].(map[string]any)["model"] != "claude-3-5-sonnet" {
		t.Errorf("model = %v; want collective's Anthropic model", r.JSON["aiProviderConfig"])
	}
	if strings.Contains(string(r.Body), "discord-secret-part") {
		t.Fatalf("the response echoes the token: %s", r.Body)
	}
	agentID := r.Str("agentId")
	if ch := r.JSON["channels"].([]any)[0].(map[string]any); ch["mode"] != "gateway" || ch["name"] != "gigbot" {
		t.Fatalf("channel = %v", ch)
	}
	if err := dc.WaitSessions(ctx, token, 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, func() bool { return channelStatus(t, c, agentID)["connected"] == true })

	dm := dc.UserMessage(token, "900000000000000001", "700000000000000001", "echo: hello discord")
	sent, err := dc.WaitSent(ctx, token, 1)
	if err != nil {
		st := channelStatus(t, c, agentID)
		m, _ := e.Store.ChannelInbound(context.Background(), uidDC, st["id"].(string), dm)
		t.Fatalf("%v; channel %v; message %+v", err, st, m)
	}
	if sent[0].ChannelID != "900000000000000001" || sent[0].Content != "You said hello discord" || sent[0].ReplyTo != dm {
		t.Fatalf("reply = %+v", sent[0])
	}

	// A guild message that does not mention the bot is not for it; one that
	// does is answered in its channel, the mention stripped.
	dc.UserMessage(token, "900000000000000002", "700000000000000002", "echo: not you", discordtest.InGuild("800000000000000001"))
	mention := dc.UserMessage(token, "900000000000000002", "700000000000000002", "echo: you", discordtest.InGuild("800000000000000001"),
		discordtest.MentioningBot())
	sent, _ = dc.WaitSent(ctx, token, 2)
	if sent[1].ChannelID != "900000000000000002" || sent[1].Content != "You said you" || sent[1].ReplyTo != mention {
		t.Fatalf("mention reply = %+v", sent[1])
	}

	// A redelivered dispatch is answered once; a dropped session resumes
	// (no new Identify) and a message sent meanwhile is answered; a 429 is
	// waited out.
	dc.Redeliver(token, dm)
	dc.DropConnection(token)
	dc.RateLimit(token, 1, 300*time.Millisecond, false)
	after := dc.UserMessage(token, "900000000000000001", "700000000000000001", "echo: after the drop")
	sent, _ = dc.WaitSent(ctx, token, 3)
	if sent[2].ReplyTo != after || sent[2].Content != "You said after the drop" {
		t.Fatalf("third reply = %+v; want the answer to the message sent during the drop", sent[2])
	}
	waitUntil(t, ctx, func() bool { return dc.Resumes(token) >= 1 })
	if dc.Identifies(token) != 1 {
		t.Errorf("identifies = %d; want 1 (the drop resumed)", dc.Identifies(token))
	}

	// A long answer is split at 2000 characters, in order.
	dc.UserMessage(token, "900000000000000003", "700000000000000003", "long reply please")
	if err := dc.Wait(ctx, func() bool {
		all := dc.Sent(token)
		return strings.HasSuffix(all[len(all)-1].Content, "The end.")
	}); err != nil {
		t.Fatal(err)
	}
	sent = dc.Sent(token)
	var whole strings.Builder
	for _, m := range sent[3:] {
		if len([]rune(m.Content)) > 2000 || m.ChannelID != "900000000000000003" {
			t.Errorf("part of %d characters to %s", len([]rune(m.Content)), m.ChannelID)
		}
		whole.WriteString(m.Content + " ")
	}
	if len(sent) < 7 || whole.Len() < 6000 {
		t.Errorf("long reply in %d parts, %d characters", len(sent)-3, whole.Len())
	}
	waitCounts(t, ctx, c, agentID, map[string]any{"answered": 4.0})

	// Stopping the agent ends its session; starting it opens one again.
	c.Do("POST", "/api/instance/"+agentID+"/stop", nil).Expect(t, 200, "")
	waitUntil(t, ctx, func() bool { return dc.Sessions(token) == 0 })
	waitUntil(t, ctx, func() bool { return channelStatus(t, c, agentID)["state"] == "stopped" })
	c.Do("POST", "/api/instance/"+agentID+"/start", nil).Expect(t, 200, "")
	if err := dc.WaitSessions(ctx, token, 1); err != nil {
		t.Fatal(err)
	}
}

const tgToken = "7011223344:AAH-telegram-secret-part-0123456789ab"

// Telegram by long polling end to end: this node polls the bot under its
// lease; allowed senders are answered in their chat, others ignored; a 429
// is waited out; a poll that stalls is restarted by the watchdog, which
// counts completed polls only.
func testTelegramChannelPolling(t *testing.T, e *agentEnv, f *channelFakes) {
	tg := f.tg
	tg.AddBot(tgToken, 7011223344, "gig_helper_bot")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, _ := e.user(t, "tg@example.com", "solo")

	c.Do("POST", "/api/provision", map[string]any{"telegramToken": "123:short", "plan": "solo"}).Expect(t, 400, "VALIDATION_ERROR")
	c.Do("POST", "/api/provision", map[string]any{"telegramToken": "7099999999:AAH-unknown-bot-000000000000000000", "plan": "solo"}).
		Expect(t, 400, "CHANNEL_CREDENTIAL_REFUSED")
	c.Do("POST", "/api/provision", map[string]any{"telegramToken": tgToken, "plan": "solo", "telegramUserId": "x y"}).
		Expect(t, 400, "VALIDATION_ERROR")
	r := c.Do("POST", "/api/provision", map[string]any{"telegramToken": tgToken, "plan": "solo", "telegramUserId": 5550001,
		"allowFrom": map[string]any{"telegram": []string{"5550002"}}}).Expect(t, 201, "")
	if strings.Contains(string(r.Body), "telegram-secret-part") {
		t.Fatalf("the response echoes the token: %s", r.Body)
	}
	agentID := r.Str("agentId")
	ch := r.JSON["channels"].([]any)[0].(map[string]any)
	if ch["mode"] != "polling" || ch["name"] != "@gig_helper_bot" || ch["botId"] != "7011223344" || r.Str("name") != "@gig_helper_bot" {
		t.Fatalf("channel = %v", ch)
	}
	waitUntil(t, ctx, func() bool { return channelStatus(t, c, agentID)["connected"] == true })

	tg.UserMessage(tgToken, 5550001, 5550001, "echo: hi from telegram")
	sent, err := tg.WaitSent(ctx, tgToken, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].ChatID != 5550001 || sent[0].Text != "You said hi from telegram" || sent[0].ReplyTo != 1 || sent[0].ParseMode != "" {
		t.Fatalf("reply = %+v", sent[0])
	}
	// A stranger is not answered (and costs nothing); an allowed user in a
	// group is answered in the group, after a 429 is waited out.
	tg.UserMessage(tgToken, 6660001, 6660001, "echo: let me in")
	tg.RateLimit(tgToken, 1, 1)
	tg.UserMessage(tgToken, -100123, 5550002, "echo: group hello")
	sent, _ = tg.WaitSent(ctx, tgToken, 2)
	if sent[1].ChatID != -100123 || sent[1].Text != "You said group hello" {
		t.Fatalf("second reply = %+v", sent[1])
	}
	waitCounts(t, ctx, c, agentID, map[string]any{"answered": 2.0, "ignored": 1.0})

	// A stalled poll: the watchdog restarts the poller, and messages flow
	// again once Telegram answers.
	tg.Stall(tgToken, true)
	waitUntil(t, ctx, func() bool {
		return strings.Contains(fmt.Sprint(channelStatus(t, c, agentID)["lastError"]), "no completed poll")
	})
	tg.Stall(tgToken, false)
	tg.UserMessage(tgToken, 5550001, 5550001, "echo: still there?")
	sent, err = tg.WaitSent(ctx, tgToken, 3)
	if err != nil {
		t.Fatal(err)
	}
	if sent[2].Text != "You said still there?" {
		t.Fatalf("after the stall = %+v", sent[2])
	}
	waitUntil(t, ctx, func() bool { return channelStatus(t, c, agentID)["state"] == "connected" })
	if tg.Conflicts(tgToken) > 1 {
		t.Errorf("%d conflicting polls; want at most one (the abandoned poll of a restart)", tg.Conflicts(tgToken))
	}
	waitCounts(t, ctx, c, agentID, map[string]any{"answered": 3.0, "ignored": 1.0})
}

// Telegram by webhook: with a public https URL the bot is pointed at this
// gateway with a secret token; deliveries with the secret are answered (a
// redelivery once), forged ones refused.
func TestTelegramChannelWebhook(t *testing.T) {
	tg := telegramtest.New(t)
	tg.AddBot(tgToken, 7011223344, "gig_helper_bot")
	e := startAgents(t, channelVars, map[string]string{"TELEGRAM_API_URL": tg.URL(), "AGENTBOT_PUBLIC_URL": "https://agents.example.com"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _ := e.user(t, "tgw@example.com", "solo")
	r := c.Do("POST", "/api/provision", map[string]any{"telegramToken": tgToken, "plan": "solo"}).Expect(t, 201, "")
	agentID := r.Str("agentId")
	hook := tg.Webhook(tgToken)
	ch := r.JSON["channels"].([]any)[0].(map[string]any)
	if ch["mode"] != "webhook" || hook.URL != ch["webhookUrl"] || !strings.HasPrefix(hook.URL, "https://agents.example.com/api/channels/telegram/") ||
		len(hook.Secret) < 32 || ch["state"] != "connected" {
		t.Fatalf("channel %v, webhook %+v", ch, hook)
	}
	if tg.Calls(tgToken, "getUpdates") != 0 {
		t.Error("a webhook bot was polled")
	}
	local := strings.TrimPrefix(hook.URL, "https://agents.example.com")
	tg.AddChat(tgToken, 42) // the updates below are posted by the test, not by the fake
	update := func(id int, text string) string {
		return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":42,"type":"private"},
			"from":{"id":42,"is_bot":false,"first_name":"Ada"},"text":%q}}`, id, id, time.Now().Unix(), text)
	}
	post := func(secret, body string) int {
		return c.Do("POST", local, body, telegramtest.SecretHeader, secret).Status
	}
	if s := post("wrong-secret", update(1, "echo: forged")); s != 401 {
		t.Errorf("forged delivery = %d; want 401", s)
	}
	if s := post(hook.Secret, update(2, "echo: first")); s != 200 {
		t.Fatalf("delivery = %d", s)
	}
	if s := post(hook.Secret, update(2, "echo: first")); s != 200 {
		t.Fatalf("redelivery = %d", s)
	}
	post(hook.Secret, update(3, "echo: second"))
	sent, err := tg.WaitSent(ctx, tgToken, 2)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].Text != "You said first" || sent[1].Text != "You said second" || sent[1].ReplyTo != 3 {
		t.Fatalf("replies = %+v", sent)
	}
	waitCounts(t, ctx, c, agentID, map[string]any{"answered": 2.0})
}
