// Where the identity provider sends the browser back during an e-signature: the challenge now has the
// re-authentication factor; complete the action that was waiting for it.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import type { Route } from '../router';
import { navigate } from '../router';
import { isSatisfied, loadPending, type Challenge } from '../sign';
import { Async, Button, ErrorBox, Notice, Page, useAsync } from '../ui';

export function SignaturePage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1] ?? '';
  const pending = loadPending(id);
  const state = useAsync(() => api.get<Challenge>(`/api/v1/signatures/challenges/${id}`), [id]);
  const [done, setDone] = useState(false);
  return (
    <Page title="Complete your signature">
      <Async state={state} what="the challenge">
        {(ch) =>
          done ? (
            <Notice kind="ok">Signed.</Notice>
          ) : ch.consumed_at ? (
            <Notice>
              <span data-testid="sign-used">
                This challenge was already used by a signature
                {pending ? '.' : ': if you started it in a terminal, it has signed.'}
              </span>
            </Notice>
          ) : !isSatisfied(ch) ? (
            <ErrorBox error="The challenge still needs a factor. Start the signature again." />
          ) : !pending ? (
            // Satisfied, unused, and not started in this browser: `axiom … approve --sso` opened the
            // provider here, or another tab or browser started it. Whoever started it completes it.
            <Notice>
              <span data-testid="sign-elsewhere">
                Your sign-in is recorded on this challenge ({ch.meaning}). If you started this
                signature in a terminal (<code>axiom … --sso</code>), return to it: it completes the
                signature. This browser has no signature waiting; to sign here, start again from the
                record.
              </span>
            </Notice>
          ) : (
            <>
              <p>{pending.description}</p>
              <Button
                kind="primary"
                testId="sign-complete"
                onClick={async () => {
                  await api.post(pending.action.url, pending.action.body);
                  window.sessionStorage.removeItem(`axiom.sign.${id}`);
                  setDone(true);
                  navigate(pending.returnTo);
                }}
              >
                Sign ({ch.meaning})
              </Button>
            </>
          )
        }
      </Async>
    </Page>
  );
}
