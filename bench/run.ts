// `npm run bench`: the same as `frugal bench` (arguments are passed through).
import { main } from '../lib/cli';

main(['bench', ...process.argv.slice(2)]).then((code) => process.exit(code));
