package eks

import (
	"encoding/json"
	"fmt"
	"time"
)

// The client authentication API versions kubectl speaks to an exec
// plugin. v1alpha1 was removed from client-go in Kubernetes 1.24.
const (
	APIVersionV1Beta1 = "client.authentication.k8s.io/v1beta1"
	APIVersionV1      = "client.authentication.k8s.io/v1"
)

// ExecInfoEnv is the variable kubectl passes an exec plugin its request
// in: an ExecCredential whose apiVersion says which answer it reads.
const ExecInfoEnv = "KUBERNETES_EXEC_INFO"

// ExecInfoError is a KUBERNETES_EXEC_INFO that is not JSON or names a
// version rolecall does not answer.
type ExecInfoError struct{ Msg string }

func (e *ExecInfoError) Error() string { return ExecInfoEnv + " " + e.Msg }

// ExecInfo is what kubectl says in KUBERNETES_EXEC_INFO.
type ExecInfo struct {
	// APIVersion is the version to answer in.
	APIVersion string
	// NoPrompt is set when kubectl says the plugin may not prompt
	// (spec.interactive false: kubectl's stdin is no terminal, or the
	// kubeconfig entry says interactiveMode Never).
	NoPrompt bool
}

// ParseExecInfo reads KUBERNETES_EXEC_INFO's value: v1beta1 and prompts
// allowed when it is empty (kubectl before 1.20 did not always set it),
// else its apiVersion, v1beta1 or v1, and its spec.interactive. Where the
// AWS CLI falls back to v1beta1 on garbage (get_token.py
// discover_api_version), rolecall refuses: an answer kubectl may not read
// is worse than a clear error.
func ParseExecInfo(execInfo string) (ExecInfo, error) {
	if execInfo == "" {
		return ExecInfo{APIVersion: APIVersionV1Beta1}, nil
	}
	var info struct {
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			Interactive *bool `json:"interactive"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(execInfo), &info); err != nil {
		return ExecInfo{}, &ExecInfoError{Msg: "is not JSON"}
	}
	out := ExecInfo{APIVersion: info.APIVersion, NoPrompt: info.Spec.Interactive != nil && !*info.Spec.Interactive}
	switch info.APIVersion {
	case APIVersionV1Beta1, APIVersionV1:
		return out, nil
	case "":
		return ExecInfo{}, &ExecInfoError{Msg: "has no apiVersion"}
	}
	return ExecInfo{}, &ExecInfoError{Msg: fmt.Sprintf("asks for %q; rolecall answers %s and %s", info.APIVersion, APIVersionV1Beta1, APIVersionV1)}
}

// execCredential is the plugin's answer (k8s.io/client-go
// pkg/apis/clientauthentication, the same shape in v1beta1 and v1).
type execCredential struct {
	Kind       string   `json:"kind"`
	APIVersion string   `json:"apiVersion"`
	Spec       struct{} `json:"spec"`
	Status     struct {
		ExpirationTimestamp string `json:"expirationTimestamp"`
		Token               string `json:"token"`
	} `json:"status"`
}

// ExecCredential renders t as the ExecCredential kubectl reads on the
// plugin's stdout, one line of JSON.
func ExecCredential(apiVersion string, t Token) []byte {
	out := execCredential{Kind: "ExecCredential", APIVersion: apiVersion}
	out.Status.ExpirationTimestamp = t.Expiration.UTC().Format(time.RFC3339)
	out.Status.Token = t.Value
	data, err := json.Marshal(out)
	if err != nil {
		panic("eks: marshal ExecCredential: " + err.Error()) // strings only
	}
	return append(data, '\n')
}
