// Sample function: greets whoever the event names. `event` is a Buffer.
exports.handler = async (event, context) => {
  const name = event && event.length > 0 ? event.toString('utf8').trim() : 'world';
  return `hello, ${name}!`;
};
