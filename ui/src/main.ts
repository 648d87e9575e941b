// Placeholder entry point until the Preact views land.
const appRoot = document.getElementById('app');
if (appRoot) {
  appRoot.textContent = 'Weft';
}
